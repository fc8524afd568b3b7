"""`CollectorService`: a venue's feeds plus the shared runtime, as a `liqmon.runtime.Service`.

Data flow: socket reader -> `handle` (parse, dedupe, queue; never awaits) -> `EventWriter`
(ordered pipelined batches) -> `liq:v1:events`. Bad parts go to `DeadLetters`, parts that
need an unknown instrument's spec to `HoldQueue`. `CollectorStatus` publishes every couple of
seconds.

Shutdown (SIGTERM, or the `stop` event in-process): the feeds stop reading and close, held
events still unresolved are dead-lettered, the writer flushes for at most
`collector_flush_seconds`, a final status is written (connected 0, gap open from now), and
the Redis client closes. Startup never waits for Redis: the exchange connections come first
and events buffer until Redis answers.

In-process use (tests, benchmarks, embedding):

    service = CollectorService(BinanceVenue(settings), settings)
    await liqmon.runtime.serve(service, stop=stop_event)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from redis.asyncio import Redis

from liqmon.collector.connection import Feed
from liqmon.collector.deadletters import DeadLetters
from liqmon.collector.held import HoldQueue
from liqmon.collector.instruments import SpecCache
from liqmon.collector.pool import FeedPool
from liqmon.collector.settings import CollectorSettings
from liqmon.collector.status import CollectorStatus
from liqmon.collector.streamwrite import StreamAppender
from liqmon.collector.venue import Venue
from liqmon.collector.writer import EventWriter
from liqmon.logs import LogOnce, configure_logging
from liqmon.redis_client import create_redis
from liqmon.runtime import TaskSet, run_service
from liqmon.settings import load_settings
from liqmon.venues import service_name

logger = logging.getLogger(__name__)
CollectorSettingsT = TypeVar("CollectorSettingsT", bound=CollectorSettings)


class CollectorService:
    def __init__(
        self,
        venue: Venue,
        settings: CollectorSettings,
        appender: StreamAppender | None = None,
    ) -> None:
        """`appender`: the stream appender shared by a process's venues (group commit:
        `liqmon.collector.group`); by default the service's own, on its own client."""
        self.name = service_name(venue.exchange)
        self.venue = venue
        self.settings = settings
        self.redis: Redis = create_redis(settings.redis_url, name=self.name, retries=1)
        keys = settings.keys
        self.deadletters = DeadLetters(self.name)
        self.writer = EventWriter(
            self.redis,
            keys,
            self.deadletters,
            retention_ms=settings.retention_ms,
            capacity=settings.collector_buffer_max,
            batch_max=settings.collector_batch_max,
            appender=appender or StreamAppender.from_settings(self.redis, settings),
        )
        self.status = CollectorStatus(
            venue.exchange,
            keys,
            retention_ms=settings.retention_ms,
            ttl_seconds=settings.collector_status_ttl_seconds,
            interval_seconds=settings.collector_status_seconds,
        )
        self.held = HoldQueue(
            self.writer.submit, self._reject, max_age_seconds=settings.collector_hold_seconds
        )
        self.caches: list[SpecCache[Any]] = venue.caches()
        self.feeds = [Feed(spec, settings, self.handle, self.status) for spec in venue.feeds()]
        #: Connections a venue opens at runtime (`supervise`, e.g. Bybit's per-symbol topics).
        self.pool = FeedPool(
            lambda spec: Feed(spec, settings, self.handle, self.status), self.status
        )
        self._venue_log = LogOnce(logger)

    # --- the hot path: called by each feed's reader for every frame -------------------
    def handle(self, feed: Feed, raw: str | bytes, recv_ts: int) -> str | None:
        """Parse and queue one frame; returns the frame to send back, if the venue wants one."""
        if isinstance(raw, bytes):
            decode = feed.spec.decode
            try:
                raw = decode(raw) if decode is not None else raw.decode()
            except ValueError as exc:  # UnicodeDecodeError is one
                reason = (
                    f"binary frame not readable: {exc}" if decode else "binary frame is not UTF-8"
                )
                self._bad(feed, reason[:300], raw, "")
                return None
        result = feed.spec.parser.parse_frame(raw, recv_ts)
        if result.events:
            self.writer.submit(result.events)
        for part in result.bad:
            self._bad(feed, part.reason, part.raw, part.context)
        if result.held:
            self.held.hold(result.held, feed.spec.caches)
        if result.error:
            self.status.counters.venue_errors += 1
            self.status.counters.last_error = result.error[:500]
            self._venue_log.warning(result.error[:40], "%s: %s", feed.spec.product, result.error)
        if result.reconnect:
            feed.request_rollover()
        return result.reply

    def _bad(self, feed: Feed, reason: str, raw: str | bytes, context: str) -> None:
        self._reject(reason, raw, f"{feed.spec.product} {context}".strip())

    def _reject(self, reason: str, raw: str | bytes, context: str) -> None:
        """A frame or part that will never be an event: counted and dead-lettered."""
        self.status.counters.errors += 1
        self.deadletters.record(reason, raw, context)
        self.writer.wake()  # the writer also flushes dead letters; don't wait for a frame

    def refresh_gauges(self) -> None:
        g, w = self.status.gauges, self.writer
        g.events, g.last_event_ts, g.buffered = w.written, w.last_event_ts, w.buffered
        g.buffer_dropped, g.duplicates = w.dropped, w.duplicates
        g.deadletters, g.held = self.deadletters.count, len(self.held)
        if not w.redis_ok and w.last_error:
            g.extra["redis_error"] = w.last_error[:300]
        else:
            g.extra.pop("redis_error", None)
        notes = getattr(self.venue, "notes", None)
        if notes is not None:
            g.extra["notes"] = orjson.dumps(notes()).decode()

    # --- Service protocol -------------------------------------------------------------
    async def startup(self) -> None:
        await self.status.load_previous(self.redis)
        logger.info(
            "%s: feeds %s",
            self.name,
            ", ".join(f"{f.spec.product}={f.spec.url}" for f in self.feeds)
            or "opened as the venue's listing requires",
        )

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        tasks = TaskSet()
        writer_stop, status_stop = asyncio.Event(), asyncio.Event()
        feed_tasks = [
            tasks.spawn(feed.run(stop), f"feed.{feed.spec.product}") for feed in self.feeds
        ]
        for cache in self.caches:
            tasks.spawn(cache.run(stop), f"specs.{cache.name}")
        tasks.spawn(self.held.run(stop, self.caches), "held")
        supervise = getattr(self.venue, "supervise", None)
        supervisor = None
        if supervise is not None:
            supervisor = tasks.spawn(supervise(self.pool, stop), "venue.supervise")
        writer = tasks.spawn(
            self.writer.run(writer_stop, drain_seconds=s.collector_flush_seconds), "writer"
        )
        status = tasks.spawn(
            self.status.run(
                self.redis, status_stop, s.collector_status_seconds, self.refresh_gauges
            ),
            "status",
        )
        try:
            await stop.wait()
            waited = {*feed_tasks, *([supervisor] if supervisor is not None else [])}
            if waited:  # a venue may have only runtime feeds (Bybit)
                await asyncio.wait(waited, timeout=5.0)
            await self.pool.close(timeout=5.0)
            self.held.retry(final=True)
            writer_stop.set()
            await asyncio.wait({writer}, timeout=s.collector_flush_seconds + 1.0)
            status_stop.set()
            await asyncio.wait({status}, timeout=2.0)
            self.refresh_gauges()
            await self.status.publish(self.redis, final=True)
            logger.info(
                "%s: %d events written, %d duplicates, %d bad, %d dropped, %d still buffered",
                self.name, self.writer.written, self.writer.duplicates, self.deadletters.count,
                self.writer.dropped, self.writer.buffered,
            )  # fmt: skip
        finally:
            await tasks.cancel_all()

    async def shutdown(self) -> None:
        await self.redis.aclose()


def run_collector(
    settings_cls: type[CollectorSettingsT], venue_factory: Callable[[CollectorSettingsT], Venue]
) -> int:
    """The body of a collector's `main()`: settings, logging, then serve until SIGTERM."""
    settings = load_settings(settings_cls)
    venue = venue_factory(settings)
    configure_logging(service_name(venue.exchange), settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per spec request
    service = CollectorService(venue, settings)
    return run_service(service, shutdown_timeout=settings.collector_flush_seconds + 10.0)
