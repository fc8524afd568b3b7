"""Feeds started and retired while the collector runs.

Most venues have a fixed set of connections (`Venue.feeds()`). A venue without an
all-symbols topic (Bybit) subscribes one topic per instrument, so how many connections it
needs depends on the instrument listing, which is only known after a REST call and changes
with new listings and delistings. Such a venue implements `Venue.supervise(pool, stop)` and
asks this pool for connections at runtime; each one is a normal `Feed` (same liveness,
reconnects, gaps and status as the static ones).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from liqmon.collector.connection import Feed
from liqmon.collector.status import CollectorStatus
from liqmon.collector.venue import FeedSpec

logger = logging.getLogger(__name__)


class FeedPool:
    def __init__(self, make_feed: Callable[[FeedSpec], Feed], status: CollectorStatus) -> None:
        self._make_feed = make_feed
        self._status = status
        self._running: dict[Feed, tuple[asyncio.Event, asyncio.Task[None]]] = {}
        self._closed = False

    @property
    def feeds(self) -> list[Feed]:
        return list(self._running)

    def start(self, spec: FeedSpec) -> Feed:
        """Open (and keep open) one more connection; its `product` label must be unique."""
        feed = self._make_feed(spec)
        if self._closed:  # shutting down: a late request of the venue's supervisor is ignored
            return feed
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop), name=f"feed.{spec.product}")
        task.add_done_callback(self._ended)
        self._running[feed] = (stop, task)
        return feed

    @staticmethod
    def _ended(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:  # a bug: say so at once
            logger.error("%s ended with an error", task.get_name(), exc_info=task.exception())

    async def retire(self, feed: Feed, timeout: float = 5.0) -> None:
        """Close a connection the venue no longer needs (no gap is recorded for it)."""
        entry = self._running.pop(feed, None)
        if entry is None:
            return
        stop, task = entry
        stop.set()
        await self._finish({task}, timeout)
        self._status.remove_feed(feed.spec.product)

    async def close(self, timeout: float = 5.0) -> None:
        """Shutdown: stop every pooled feed (their final status shows the gap, as usual)."""
        self._closed = True
        for stop, _ in self._running.values():
            stop.set()
        tasks = {task for _, task in self._running.values()}
        self._running.clear()
        await self._finish(tasks, timeout)

    @staticmethod
    async def _finish(tasks: set[asyncio.Task[None]], timeout: float) -> None:
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # errors: logged by `_ended`
