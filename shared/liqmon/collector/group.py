"""Several venues' collectors in one process: `liqmon run collectors` (venues from
`LIQMON_COLLECTORS`, default every venue) or `liqmon run collector-binance collector-okx …`.

Why: a collector process is ~70 MB of mostly shared code (Python, websockets, redis, pydantic);
ten of them would need more memory than a small VPS has. Grouped, each further venue costs
only its own state.

Each venue keeps its own `CollectorService` exactly as when it runs alone: its connections,
status hash, gaps, buffer, dead letters and Redis client, so `/api/health` and `/metrics` look
the same whichever grouping is used. Each venue runs under its own supervisor task: if its
service crashes (an exception out of startup or run), that venue alone is shut down and a
fresh service is started after a capped exponential backoff (reset once it has run for a
minute); the other venues never notice. A venue that stalls stalls only its own tasks.

The one thing the venues share: the stream appender (`SharedAppenders`), on a Redis client
of its own. While one script call is in flight the other venues' batches wait and the next
call carries them all (group commit, `liqmon.collector.streamwrite`): in a crash, ten venues
append in one call where they made ten, which is most of the append's cost. A venue
restarting keeps using it; it closes with the group.

Shutdown (SIGTERM): every venue stops in parallel, each with the same bound as alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from redis.asyncio import Redis

from liqmon.backoff import Backoff
from liqmon.collector.service import CollectorService
from liqmon.collector.settings import CollectorSettings
from liqmon.collector.streamwrite import StreamAppender
from liqmon.logs import configure_logging
from liqmon.redis_client import create_redis
from liqmon.runtime import TaskSet, run_service
from liqmon.settings import load_settings
from liqmon.venues import VenueInfo, parse_venue_list

logger = logging.getLogger(__name__)
#: A venue that ran this long before crashing restarts at the shortest backoff again.
HEALTHY_RUN_SECONDS = 60.0


@dataclass
class VenueSupervisor:
    """Runs one venue's collector, restarting it alone when it crashes."""

    exchange: str
    factory: Callable[[], CollectorService]
    shutdown_timeout: float
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=0.5, maximum=30.0))
    restarts: int = 0
    running: CollectorService | None = None
    last_error: str = ""

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self._run_once(stop)
            except Exception as exc:  # a venue's bug must not reach the other venues
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                logger.exception("collector-%s crashed", self.exchange)
            if stop.is_set():
                return
            if time.monotonic() - started >= HEALTHY_RUN_SECONDS:
                self.backoff.reset()
            delay = self.backoff.next()
            self.restarts += 1
            logger.error(
                "collector-%s stopped unexpectedly; restart #%d in %.1fs",
                self.exchange, self.restarts, delay,
            )  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _run_once(self, stop: asyncio.Event) -> None:
        service = self.running = self.factory()
        try:
            await service.startup()
            runner = asyncio.create_task(service.run(stop), name=f"{service.name}.run")
            waiter = asyncio.create_task(stop.wait(), name=f"{service.name}.stop")
            try:
                await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if not runner.done():  # stopping: the same bound as a lone collector
                    done, _ = await asyncio.wait({runner}, timeout=self.shutdown_timeout)
                    if not done:
                        logger.warning("%s did not stop in time; cancelling", service.name)
                        runner.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await runner
                        return
                runner.result()  # re-raise a crash
            finally:
                waiter.cancel()
        finally:
            self.running = None
            with contextlib.suppress(Exception):
                await service.shutdown()


class SharedAppenders:
    """One stream appender (and Redis client) per distinct target among a group's venues:
    the same Redis, key prefix, retention, batch size and linger (one, unless a venue's settings
    were given other values)."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str, int, int, int], tuple[Redis, StreamAppender]] = {}

    def for_settings(self, settings: CollectorSettings) -> StreamAppender:
        """Made on first use, inside the running loop (the client binds to it)."""
        key = (
            settings.redis_url,
            settings.keys.prefix,
            settings.retention_ms,
            settings.collector_batch_max,
            settings.collector_linger_ms,
        )
        if key not in self._made:
            redis = create_redis(settings.redis_url, name="collectors.append", retries=1)
            self._made[key] = (redis, StreamAppender.from_settings(redis, settings))
        return self._made[key][1]

    async def close(self) -> None:
        for redis, appender in self._made.values():
            logger.info(
                "stream appends: %d script calls carried %d batches of %d events",
                appender.calls, appender.batches, appender.rows,
            )  # fmt: skip
            with contextlib.suppress(Exception):
                await redis.aclose()
        self._made.clear()


class CollectorGroup:
    """A `liqmon.runtime.Service` running one supervised `CollectorService` per venue."""

    def __init__(
        self, supervisors: Sequence[VenueSupervisor], appenders: SharedAppenders | None = None
    ) -> None:
        if not supervisors:
            raise ValueError("a collector group needs at least one venue")
        self.supervisors = list(supervisors)
        self.appenders = appenders
        self.name = "collectors(" + ",".join(s.exchange for s in supervisors) + ")"

    async def startup(self) -> None:
        logger.info("%s: one process, %d venues", self.name, len(self.supervisors))

    async def run(self, stop: asyncio.Event) -> None:
        tasks = TaskSet()
        running = [tasks.spawn(s.run(stop), f"venue.{s.exchange}") for s in self.supervisors]
        try:
            await asyncio.wait(running)
        finally:
            await tasks.cancel_all()

    async def shutdown(self) -> None:
        if self.appenders is not None:  # after every venue stopped (run has returned)
            await self.appenders.close()


def supervisor_for(
    venue: VenueInfo, appenders: SharedAppenders
) -> tuple[VenueSupervisor, CollectorSettings]:
    """Settings are read once (a bad value refuses the start, naming the variable); each
    restart builds a fresh venue and service from them."""
    main = venue.load_main()
    settings: CollectorSettings = load_settings(main.SETTINGS)

    def build() -> CollectorService:
        return CollectorService(main.VENUE(settings), settings, appenders.for_settings(settings))

    supervisor = VenueSupervisor(
        venue.exchange, build, shutdown_timeout=settings.collector_flush_seconds + 10.0
    )
    return supervisor, settings


def main(argv: list[str]) -> int:
    """`liqmon run collectors [venue …]`: the venues named, else `LIQMON_COLLECTORS`, else all."""
    text = ",".join(argv) if argv else os.environ.get("LIQMON_COLLECTORS", "")
    try:
        venues = parse_venue_list(text)
    except ValueError as exc:
        raise SystemExit(f"liqmon run collectors: {exc}") from None
    appenders = SharedAppenders()
    built = [supervisor_for(v, appenders) for v in venues]
    configure_logging("collectors", built[0][1].log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per spec request
    group = CollectorGroup([supervisor for supervisor, _ in built], appenders)
    timeout = max(s.shutdown_timeout for s in group.supervisors) + 5.0
    return run_service(group, shutdown_timeout=timeout)
