"""The ordered, pipelined, buffering writer from the socket reader to the event stream.

The reader must never wait for Redis: a collector that stops reading its socket while Redis
restarts would be dropped by the exchange and lose the liquidations in between. So
`submit()` is synchronous and only appends to a bounded in-memory queue (default 100k
events); a single writer task drains it in batches of up to `batch_max`, each batch one
round trip (`StreamAppender`: the append script), so order is kept and a burst of
thousands of events a second costs a few round trips, not thousands.

While Redis is unreachable the batch stays at the head of the queue and is retried with
capped backoff; new events queue behind it. When the queue is full new events are refused
and counted (`dropped`): the oldest ones are already promised to the stream in order.
Repeats (a rollover's overlap, a venue's replay after re-subscribing, a batch retried after
an error whose first attempt did land) are refused by the append script itself, which
holds every id the stream holds, and counted in `duplicates`: no in-process dedup here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Iterable
from operator import attrgetter

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from liqmon.backoff import Backoff
from liqmon.collector.deadletters import DeadLetters
from liqmon.collector.streamwrite import StreamAppender
from liqmon.collector.timing import wait_any
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon.logs import LogOnce

logger = logging.getLogger(__name__)
_event_ts = attrgetter("ts")
REDIS_ERRORS = (RedisError, OSError)


class EventWriter:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        deadletters: DeadLetters,
        *,
        retention_ms: int,
        capacity: int = 100_000,
        batch_max: int = 2_000,
        appender: StreamAppender | None = None,
    ) -> None:
        """`appender`: one shared with other venues' writers (group commit, see
        `liqmon.collector.streamwrite`); by default this writer's own."""
        self._redis = redis
        self._keys = keys
        self._deadletters = deadletters
        self._appender = appender or StreamAppender(redis, keys, retention_ms=retention_ms)
        self._capacity = capacity
        self._batch_max = batch_max
        self._queue: deque[LiquidationEvent] = deque()
        self._batch: list[LiquidationEvent] = []
        self._wake = asyncio.Event()
        self._log = LogOnce(logger)
        self.written = 0
        #: Events the stream refused as repeats (the append script's dedup).
        self.duplicates = 0
        self.dropped = 0
        self.last_event_ts = 0
        self.redis_ok = True
        self.last_error = ""

    # --- the reader's side: never blocks ---------------------------------------------
    def submit(self, events: Iterable[LiquidationEvent]) -> None:
        queue = self._queue
        if type(events) is not list and not isinstance(events, tuple):  # (a frame's: a list)
            events = list(events)
        if len(queue) + len(self._batch) + len(events) <= self._capacity:
            queue.extend(events)  # the usual case: room for all, no per-event check
            events = ()
        for event in events:
            if len(queue) + len(self._batch) >= self._capacity:
                self.dropped += 1
                self._log.warning(
                    "full", "event buffer full (%d); dropping new events", self._capacity
                )
                continue
            queue.append(event)
        if queue:
            self._wake.set()

    def wake(self) -> None:
        """Work arrived off the frame path (e.g. a dead letter from an expiring held event)."""
        self._wake.set()

    @property
    def buffered(self) -> int:
        return len(self._queue) + len(self._batch)

    # --- the writer task ---------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, drain_seconds: float = 5.0) -> None:
        """Write until `stop`, then keep flushing for at most `drain_seconds`."""
        backoff = Backoff(0.05, 2.0, jitter=0.5)
        deadline: float | None = None
        while True:
            if stop.is_set() and deadline is None:
                deadline = time.monotonic() + drain_seconds
            if deadline is not None and (time.monotonic() >= deadline or not self._work_left()):
                break
            if not self._work_left():
                self._wake.clear()
                await wait_any(self._wake, stop, timeout=None)
                continue
            try:
                written = await self.write_once()
            except Exception:  # the write path's supervisor: log, back off, keep writing
                logger.exception("event writer failed; retrying")
                written = False
            if written:
                backoff.reset()
                await asyncio.sleep(0)  # let the readers in between batches
                continue
            delay = backoff.next()
            if deadline is not None:
                delay = min(delay, max(deadline - time.monotonic(), 0.0))
            await asyncio.sleep(delay)
        if self.buffered:
            logger.error("stopping with %d events not written (Redis unreachable)", self.buffered)

    def _work_left(self) -> bool:
        return bool(self._queue or self._batch or self._deadletters.pending)

    def _scrub(self, batch: list[LiquidationEvent]) -> list[LiquidationEvent]:
        """Drop (dead-letter) events whose text cannot be encoded; keep the rest in order."""
        kept = []
        for event in batch:
            try:
                orjson.dumps(event.texts())
            except orjson.JSONEncodeError as exc:
                self._deadletters.record(f"unencodable event: {exc}", repr(event), event.product)
                continue
            kept.append(event)
        return kept

    async def write_once(self) -> bool:
        """Write one batch (and pending dead letters). False if Redis failed."""
        if not self._batch:
            queue = self._queue
            if len(queue) <= self._batch_max:
                self._batch = list(queue)
                queue.clear()
            else:
                popleft = queue.popleft
                self._batch = [popleft() for _ in range(self._batch_max)]
        added = 0
        try:
            if self._batch:
                added = await self._appender.append(self._batch)
            await self._deadletters.flush(self._redis, self._keys)
        except orjson.JSONEncodeError:
            self._batch = self._scrub(self._batch)
            return False
        except REDIS_ERRORS as exc:
            self.last_error = f"redis: {type(exc).__name__}: {exc}"
            if self.redis_ok:
                logger.warning("redis write failed, buffering (%d waiting): %s", self.buffered, exc)
            self.redis_ok = False
            return False
        if not self.redis_ok:
            logger.info("redis writable again; %d events still buffered", self.buffered)
        self.redis_ok = True
        self.written += added
        self.duplicates += len(self._batch) - added  # refused by the script as repeats
        if self._batch:
            self.last_event_ts = max(self.last_event_ts, *map(_event_ts, self._batch))
        self._batch = []
        return True
