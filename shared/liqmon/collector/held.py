"""Liquidations waiting for an instrument spec (held, retried, never guessed).

A COIN-M or OKX liquidation of an instrument the spec cache does not know yet (a new listing)
cannot be valued: its contract size is unknown. Dropping it would lose a real liquidation,
guessing would make the totals wrong. So it is held here, a refresh of its spec cache is
requested at once (and again every `retry_seconds` while anything waits, each cache
rate-limiting its own loads), and it is resolved again whenever a cache loads. One whose
spec is still missing after `max_age_seconds` *and* after a successful load of its caches
since it was held - or that is still waiting at shutdown - goes to the dead letters with the
reason. (While the REST API is unreachable nothing expires: the instrument is not known to
be bogus, only unchecked.) The queue is bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from liqmon.clock import now_ms
from liqmon.collector.frames import Held, MalformedFrame, SpecMissing
from liqmon.collector.instruments import SpecCache
from liqmon.collector.timing import wait_any
from liqmon.event import InvalidEvent, LiquidationEvent

logger = logging.getLogger(__name__)


class HoldQueue:
    def __init__(
        self,
        deliver: Callable[[list[LiquidationEvent]], None],
        reject: Callable[[str, str, str], None],
        *,
        max_age_seconds: float = 120.0,
        retry_seconds: float = 1.0,
        capacity: int = 10_000,
    ) -> None:
        self._deliver = deliver
        self._reject = reject  # (reason, raw, context): counted and dead-lettered
        self._max_age_ms = int(max_age_seconds * 1000)
        self._retry_seconds = retry_seconds
        self._capacity = capacity
        self._items: list[Held] = []
        self._caches: set[SpecCache[Any]] = set()  # caches that held items are waiting on
        self.resolved = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._items)

    def hold(self, items: Iterable[Held], caches: Sequence[SpecCache[Any]]) -> None:
        held_ms = now_ms()
        for item in items:
            if len(self._items) >= self._capacity:
                self._reject("hold queue full", item.raw, item.context)
                continue
            item.since_ms = held_ms
            item.caches = tuple((cache, cache.version) for cache in caches)
            self._items.append(item)
        self._caches.update(caches)
        for cache in caches:
            cache.request_refresh()

    def retry(self, *, final: bool = False) -> None:
        if not self._items:
            return
        ts = now_ms()
        waiting: list[Held] = []
        ready: list[LiquidationEvent] = []
        for item in self._items:
            item.attempts += 1
            try:
                ready.append(item.resolve())
            except SpecMissing as exc:
                checked = all(cache.version > seen for cache, seen in item.caches)
                if final or (checked and ts - item.since_ms >= self._max_age_ms):
                    self.expired += 1
                    why = "at shutdown" if final else f"after {(ts - item.since_ms) // 1000}s"
                    self._reject(f"unknown instrument: {exc} {why}", item.raw, item.context)
                else:
                    waiting.append(item)
            except (MalformedFrame, InvalidEvent) as exc:
                self._reject(str(exc), item.raw, item.context)
        self._items = waiting
        if ready:
            self.resolved += len(ready)
            logger.info("%d held liquidations resolved with fresh specs", len(ready))
            self._deliver(ready)

    async def run(self, stop: asyncio.Event, caches: Sequence[SpecCache[Any]]) -> None:
        while not stop.is_set():
            await wait_any(stop, *(c.changed for c in caches), timeout=self._retry_seconds)
            for cache in caches:
                cache.changed.clear()
            self.retry()
            if self._items:  # still waiting: keep asking (each cache rate-limits its loads)
                for cache in self._caches:
                    cache.request_refresh()
            else:
                self._caches.clear()
