"""A venue's subscriptions that follow its instrument listing while the collector runs.

dYdX (`v4_trades` per market) and Kraken Futures (`trade` per product) have no
all-instruments liquidation feed: the collector lists the instruments over REST and
subscribes each one, spread over connections by `topics.ShardedTopics`. `FollowedListing`
is the glue: the venue's listing loader `offer`s the topics it found, and the venue's
`supervise(pool, stop)` (run by the collector beside the feeds) keeps the connections'
subscriptions equal to the latest non-empty offer — new listings subscribed, delistings
unsubscribed, without a restart. An empty offer (a broken or partial listing) changes
nothing: liquidations of instruments still subscribed are never given up on a bad reload.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

from liqmon.collector.pool import FeedPool
from liqmon.collector.timing import wait_any
from liqmon.collector.topics import ShardedTopics
from liqmon.collector.venue import Deliver, recv_json

logger = logging.getLogger(__name__)


class FollowedListing:
    def __init__(self, name: str, make_group: Callable[[FeedPool], ShardedTopics]) -> None:
        self.name = name
        self.wanted: set[str] = set()
        self.group: ShardedTopics | None = None
        self._make_group = make_group
        self._changed = asyncio.Event()

    def refused_text(self, most: int = 20) -> str:
        """The topics the venue refused on the open connections, for the status `notes`."""
        shards = self.group.shards if self.group else []
        refused = sorted(topic for shard in shards for topic in shard.refused)
        return ", ".join(refused[:most]) or "none"

    def offer(self, topics: set[str]) -> None:
        """The topics of a fresh listing (called by the venue's spec loader)."""
        if not topics:
            logger.warning("%s: the listing names nothing to subscribe; kept as it was", self.name)
            return
        self.wanted = set(topics)
        self._changed.set()

    async def supervise(self, pool: FeedPool, stop: asyncio.Event) -> None:
        group = self.group = self._make_group(pool)
        while True:
            await wait_any(stop, self._changed, timeout=None)
            if stop.is_set():
                return
            self._changed.clear()
            current = group.topics()
            if self.wanted != current:
                logger.info(
                    "%s: %d subscriptions (+%d -%d)",
                    self.name, len(self.wanted), len(self.wanted - current),
                    len(current - self.wanted),
                )  # fmt: skip
                await group.update(set(self.wanted))


async def answers(ws: ClientConnection, deliver: Deliver) -> AsyncGenerator[dict[str, Any], None]:
    """For a subscribe hook whose venue answers with data (dYdX's `subscribed` history,
    Kraken's `trade_snapshot`): every frame goes to `deliver` (the parser sees it all), and
    those that are JSON objects are yielded so the hook can follow its acks."""
    while True:
        raw, msg = await recv_json(ws)
        deliver(raw)
        if isinstance(msg, dict):
            yield msg
