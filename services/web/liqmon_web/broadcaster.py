"""One stream reader per web process, fanned out to every SSE client.

Why this shape:
- ONE `XREAD BLOCK` loop per process, whatever the number of clients: a reader per client
  would cost a Redis connection each and make every XADD pay O(clients).
- Each entry is parsed and encoded to its SSE frame ONCE, here; a batch of entries is
  joined to one bytes blob once (lazily, on first use) and shared by every unfiltered
  client. A filtered client picks frames out of the same batch.
- Clients are written on a tick (`publish_interval`): at least `TICK_S` (20 ms) apart
  (5 ms with a few clients, 400 µs per client: `QUICK_TICK_S`),
  30 µs per live client beyond that, at most `web_sse_batch_ms` (30 ms by default). A
  client's write costs about the same whatever it carries (a wake-up, one socket write),
  so the process pays per tick, not per event: at 10,000 events/s a write per read
  batch was most of the fan-out's CPU; at 500 events/s and 1,000 clients a write per
  entry would be 500k wake-ups a second, a write per 30 ms is 33k. The price is at most
  one tick of extra latency. The reader reads once per tick, and everything handed to a
  client between two ticks (event batches, the summary, alerts) goes out in its ONE
  write at the next tick (`_flush`); the first write after a quiet spell goes at once.
- Every client has a bounded queue (counted in events). A client whose queue is full AND
  whose writer has not taken it for `SLOW_AFTER_S` is dropped and counted: it can never
  slow the reader or the other clients, nor grow memory without bound (the batches are
  shared; what a client holds beyond its queue is at most `SLOW_AFTER_S` of the tape). The
  grace is what the tick needs: a healthy client is emptied only once per tick, so in a
  crash-day burst more than a queue's worth arrives between two of its writes. Its
  browser reconnects with `Last-Event-ID` and replays what it missed.
- Repeats are not this module's concern: the stream carries each liquidation once within
  the horizon docs/EVENTS.md states (refused at append), so every entry is broadcast as is.
- The summary is pushed when it changes, coalesced, as one frame shared by every client
  (summary_feed.py); each client holds only the latest summary frame (a one-slot box,
  latest wins), so a slow client never queues summaries.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from liqmon.backoff import Backoff
from liqmon.consumer_group import raw_entries, raw_reply
from liqmon.keys import Keys
from liqmon.logs import LogOnce
from liqmon_web.event_frames import Encoded, encode_raw
from liqmon_web.filters import EventFilter
from liqmon_web.settings import WebSettings
from liqmon_web.stream_ids import StreamId, parse_stream_id

logger = logging.getLogger(__name__)

READ_COUNT = 1000
READ_BLOCK_MS = 1000
PER_CLIENT_S = 30e-6
TICK_S = 0.02
#: A process with few clients ticks faster, down to QUICK_TICK_S: QUICK_PER_CLIENT_S per
#: client keeps its writes (~12 µs each) at about 3 % of a core whatever their number, and
#: from 50 clients on the tick is TICK_S again. The self-hosted case is a few dashboards,
#: and the tick is most of what their summary cards wait for beyond the aggregator.
QUICK_TICK_S = 0.005
QUICK_PER_CLIENT_S = 400e-6
ALERTS_QUEUED = 100
#: A full queue drops its client only when its writer has not emptied it for this long:
#: many ticks, so a burst between two writes (or a busy loop) never drops a healthy client.
SLOW_AFTER_S = 0.5


class Batch:
    """Entries published together; shared (never copied) by every client queue."""

    __slots__ = ("_blob", "entries", "last")

    def __init__(self, entries: list[Encoded], last: StreamId) -> None:
        self.entries = entries
        self.last = last  # the newest id read, even if that entry was malformed
        self._blob: bytes | None = None

    @property
    def blob(self) -> bytes:
        if self._blob is None:
            self._blob = b"".join(e.frame for e in self.entries)
        return self._blob


class TooManyClients(Exception):
    """Over a client limit: 429."""


class ShuttingDown(Exception):
    """No new streams while the process stops: 503 (the client retries elsewhere)."""


class Ticket:
    """An admitted SSE client's place in the limits; released exactly once."""

    def __init__(self, owner: Broadcaster, ip: str) -> None:
        self._owner = owner
        self.ip = ip
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._owner._release(self.ip)


class Subscriber:
    """A live client: bounded queue of batches, a latest-summary slot, a wake-up event."""

    def __init__(self, flt: EventFilter, queue_size: int) -> None:
        self.filter = flt
        self.queue: collections.deque[Batch] = collections.deque()
        self.queued = 0
        self.queue_size = queue_size
        self.summary: bytes | None = None
        self.keepalive = False
        self.last_write = time.monotonic()
        self.taken_at = self.last_write  # when the writer last emptied the queue
        self.wake = asyncio.Event()
        self.closed: str | None = None
        self.task: asyncio.Task[Any] | None = None  # the writer, cancelled if it stalls
        self.alerts: list[bytes] = []  # `event: alert` frames not yet written (alertfeed.py)

    def take_alerts(self) -> list[bytes]:
        alerts, self.alerts = self.alerts, []
        return alerts

    def take(self) -> tuple[bytes | None, list[Batch], bool]:
        summary, self.summary = self.summary, None
        keepalive, self.keepalive = self.keepalive, False
        batches = list(self.queue)
        self.queue.clear()
        self.queued = 0
        self.taken_at = time.monotonic()
        self.wake.clear()
        return summary, batches, keepalive

    def close(self, reason: str, *, cancel: bool = False) -> None:
        if self.closed is None:
            self.closed = reason
        self.wake.set()
        if cancel and self.task is not None and not self.task.done():
            self.task.cancel()


class Broadcaster:
    def __init__(self, redis: Redis, reader: Redis, keys: Keys, settings: WebSettings) -> None:
        self.redis = redis
        self._reader = reader
        self.keys = keys
        self.settings = settings
        self._summary: bytes | None = None  # the latest summary frame, and when it came
        self._summary_at = 0.0
        self.stopping = asyncio.Event()
        self._subs: set[Subscriber] = set()
        self._per_ip: collections.Counter[str] = collections.Counter()
        self._admitted = 0
        self._log_once = LogOnce(logger)
        self.position: StreamId | None = None
        self.arrived = asyncio.Event()  # an event read or a client came: wakes the summary feed
        self._waiting: set[Subscriber] = set()  # handed something since the last tick
        self._flushed_at = -1.0
        self._flush_timer: asyncio.TimerHandle | None = None
        # counters for /metrics
        self.events_read = 0
        self.malformed = 0
        self.reader_errors = 0
        self.dropped_slow = 0
        self.rejected = 0
        self.connections_total = 0

    # --- admission ----------------------------------------------------------------
    @property
    def clients(self) -> int:
        return self._admitted

    def admit(self, ip: str) -> Ticket:
        if self.stopping.is_set():
            raise ShuttingDown("server is shutting down")
        if self._admitted >= self.settings.web_max_sse_clients:
            self.rejected += 1
            limit = self.settings.web_max_sse_clients
            raise TooManyClients(f"too many stream clients on this server (limit {limit})")
        if self._per_ip[ip] >= self.settings.web_max_sse_per_ip:
            self.rejected += 1
            raise TooManyClients(
                f"too many stream clients from {ip} (limit {self.settings.web_max_sse_per_ip})"
            )
        self._admitted += 1
        self._per_ip[ip] += 1
        self.connections_total += 1
        return Ticket(self, ip)

    def _release(self, ip: str) -> None:
        self._admitted -= 1
        self._per_ip[ip] -= 1
        if self._per_ip[ip] <= 0:
            del self._per_ip[ip]

    # --- live subscribers -----------------------------------------------------------
    def subscribe(self, flt: EventFilter) -> Subscriber:
        sub = Subscriber(flt, self.settings.web_sse_queue_size)
        if self._summary is not None and time.monotonic() - self._summary_at < 2.0:
            sub.summary = self._summary  # a new client sees the panels at once
            sub.wake.set()
        self._subs.add(sub)
        self.arrived.set()
        if self.stopping.is_set():
            sub.close("shutdown")
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subs.discard(sub)
        self._waiting.discard(sub)

    def watching(self) -> bool:
        """Is any stream client connected?"""
        return bool(self._subs)

    def publish_summary(self, frame: bytes) -> None:
        """Hand one shared summary frame to every client (each keeps only the latest)."""
        self._summary, self._summary_at = frame, time.monotonic()
        for sub in self._subs:
            if sub.closed is None:
                sub.summary = frame
                self._waiting.add(sub)
        self._tick()

    def publish(self, batch: Batch) -> None:
        size = len(batch.entries)
        stale = time.monotonic() - SLOW_AFTER_S
        for sub in self._subs:
            if sub.closed is not None:
                continue
            # one batch always fits; a full queue is slow only if its writer stopped taking
            if sub.queued and sub.queued + size > sub.queue_size and sub.taken_at < stale:
                self.dropped_slow += 1
                logger.info("dropping slow stream client (%d events queued)", sub.queued)
                sub.close("slow", cancel=True)
                continue
            sub.queue.append(batch)
            sub.queued += size
            self._waiting.add(sub)
        self._tick()

    def publish_alert(self, frame: bytes) -> None:
        """Queue an `event: alert` frame for every client (alerts are rare; a client that
        let ALERTS_QUEUED pile up keeps only the newest)."""
        for sub in self._subs:
            if sub.closed is None:
                sub.alerts = [*sub.alerts[-(ALERTS_QUEUED - 1) :], frame]
                self._waiting.add(sub)
        self._tick()

    def _tick(self) -> None:
        """Wake the clients handed something at the next tick: now if the last one is a
        tick ago, else when it is due (one timer per process, not per client)."""
        if self._flush_timer is not None or not self._waiting:
            return
        delay = self._flushed_at + self.publish_interval() - time.monotonic()
        if delay <= 0:
            self._flush()
        else:
            self._flush_timer = asyncio.get_running_loop().call_later(delay, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        self._flushed_at = time.monotonic()
        for sub in self._waiting:
            sub.wake.set()
        self._waiting.clear()

    def shutdown(self) -> None:
        """End every stream now (called before uvicorn waits for connections)."""
        if not self.stopping.is_set():
            logger.info("closing %d stream client(s)", len(self._subs))
        self.stopping.set()
        for sub in self._subs:
            sub.close("shutdown")

    # --- background loops (run as tracked tasks by the app lifespan) ------------------
    async def start_position(self) -> None:
        """Fix where live delivery begins (the lifespan calls this before serving, so no
        client can subscribe before the reader's starting point)."""
        try:
            info = await self._reader.xinfo_stream(self.keys.events)
            last = str(info["last-generated-id"])
        except ResponseError:  # no such key yet: everything that arrives is new
            last = "0-0"
        self.position = parse_stream_id(last)
        logger.info("stream reader starts after %s", last)

    def publish_interval(self) -> float:
        """Seconds between ticks: `TICK_S`, or 30 µs per live client when more, capped by
        `web_sse_batch_ms` (0: no tick, every publish is written at once); below 50
        clients, 400 µs per client down to `QUICK_TICK_S` (5 ms).

        One write costs ~12 µs per client (wake the writer, one socket write; measured in
        bench/web.py), whatever it carries. A tick of clients x 30 µs keeps fan-out under
        about half a core whatever the number of clients (1,000 clients reach the 30 ms
        cap: bench/web.py, 0.37 cores, p99 87 ms at 500 events/s); the 20 ms floor keeps a
        few clients from being written hundreds of times a second at crash-day rates."""
        cap_s = self.settings.web_sse_batch_ms / 1000
        clients = len(self._subs)
        floor = max(QUICK_TICK_S, min(TICK_S, clients * QUICK_PER_CLIENT_S))
        return min(cap_s, max(floor, clients * PER_CLIENT_S))

    async def run_reader(self) -> None:
        backoff = Backoff(0.1, 2.0, jitter=0.5)
        while not self.stopping.is_set():
            try:
                if self.position is None:
                    await self.start_position()
                assert self.position is not None
                last = str(self.position)
                began = time.monotonic()
                reply: Any = await raw_reply(
                    self._reader, b"XREAD", "COUNT", READ_COUNT, "BLOCK", READ_BLOCK_MS,
                    "STREAMS", self.keys.events, last,
                )  # fmt: skip
                backoff.reset()
            except RedisError as exc:
                self.reader_errors += 1
                self._log_once.warning("reader", "stream reader: %s; retrying", exc)
                await asyncio.sleep(backoff.next())
                continue
            if not reply:
                continue
            entries = raw_entries(reply[0][1])
            encoded, bad = encode_raw(entries, self._log_once)
            self.malformed += bad
            self.events_read += len(encoded)
            self.arrived.set()
            position = parse_stream_id(str(entries[-1][0]))
            assert position is not None
            self.position = position
            self.publish(Batch(encoded, position))
            if len(entries) < READ_COUNT:
                pause = self.publish_interval() - (time.monotonic() - began)
                if pause > 0:
                    await asyncio.sleep(pause)

    def _keepalive_tick(self) -> None:
        """Ask clients idle for `web_sse_keepalive_s` to send a comment (proxies and
        browsers drop silent connections). Checked once a second, for every client.

        A healthy writer completes a write at least every keep-alive period; one that has
        not for `web_sse_stall_s` more is stuck on a socket that does not drain (a client that
        stopped reading while the tape was quiet, so its queue never filled): drop it."""
        now = time.monotonic()
        idle_since = now - self.settings.web_sse_keepalive_s
        stalled_since = idle_since - self.settings.web_sse_stall_s
        for sub in self._subs:
            if sub.closed is not None:
                continue
            if sub.last_write <= stalled_since:
                self.dropped_slow += 1
                silent = now - sub.last_write
                logger.info("dropping stalled stream client (%.0fs without a write)", silent)
                sub.close("stalled", cancel=True)
            elif sub.last_write <= idle_since:
                sub.keepalive = True
                sub.wake.set()

    async def run_housekeeping(self) -> None:
        """Once a second: keep-alives and stalled clients (`_keepalive_tick`)."""
        while not self.stopping.is_set():
            await asyncio.sleep(1.0)
            self._keepalive_tick()
