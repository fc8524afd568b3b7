"""Per-instrument topics spread over connections and kept in step with a changing listing.

A venue without an all-symbols topic (Bybit `allLiquidation.{symbol}`) must subscribe one
topic per instrument: hundreds of topics, sent in requests that respect the venue's size
limit (`chunk_topics`), over as many connections as a per-connection cap requires
(`ShardedTopics`). The listing changes while the collector runs, so `ShardedTopics.update`
diffs the wanted topics against the current ones:

- a delisted topic is unsubscribed on the connection that has it;
- a new listing goes to the first connection with room (subscribed live, no reconnect), or
  to a new connection when all are full; a connection left empty is closed.

Assignments are stable: a topic never moves between connections, so an update never
re-subscribes what is already flowing. The wire format stays the venue's: it supplies the
`FeedSpec` of a shard (whose subscribe hook subscribes `shard.wanted` on each fresh
connection and records `shard.ws`) and `send_changes` for live updates on `shard.ws`. A live
update that cannot be sent (the connection is down) is not retried: the next connection
subscribes the shard's full current list anyway. Topics the venue refused are asked for again
by `retry_refused` (the venue calls it with a backoff): a refusal may be temporary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from liqmon.collector.connection import Feed
from liqmon.collector.pool import FeedPool
from liqmon.collector.venue import FeedSpec


def chunk_topics(topics: Iterable[str], *, max_count: int, max_chars: int) -> list[list[str]]:
    """Split topics into request-sized lists: at most `max_count` topics each, and the JSON
    text of each list (`["a","b"]`, what the venue measures as the args size) at most
    `max_chars` characters. A single topic longer than the limit is a ValueError."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 2  # the brackets
    for topic in topics:
        cost = len(orjson.dumps(topic))
        if cost + 2 > max_chars:
            raise ValueError(f"topic longer than the request limit: {topic[:80]!r}")
        if current and (len(current) >= max_count or size + 1 + cost > max_chars):
            chunks.append(current)
            current, size = [], 2
        size += cost + (1 if current else 0)
        current.append(topic)
    if current:
        chunks.append(current)
    return chunks


@dataclass(eq=False)
class TopicShard:
    """The topics of one connection.

    `refused` are topics the venue refused on this connection: left out of its subscribe
    requests until `ShardedTopics.retry_refused`. `ws` is the connection's latest socket,
    recorded by the venue's subscribe hook, where live changes are sent.
    """

    label: str
    topics: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)
    ws: ClientConnection | None = None
    feed: Feed | None = None

    @property
    def wanted(self) -> list[str]:
        return sorted(self.topics - self.refused)


#: (shard, topics to subscribe, topics to unsubscribe) -> sent on `shard.ws` if it is open.
SendChanges = Callable[[TopicShard, list[str], list[str]], Awaitable[None]]
#: (op "subscribe"/"unsubscribe", topics) -> the venue's request texts for them.
Requests = Callable[[str, list[str]], Iterable[str]]


async def send_live(
    requests: Requests, shard: TopicShard, added: list[str], removed: list[str]
) -> None:
    """A `SendChanges` (bind `requests` with partial): the live unsubscribes, then
    subscribes, on the shard's open connection; skipped if it is down or closes meanwhile
    (its next connection subscribes what is wanted then)."""
    ws = shard.ws
    if ws is None:
        return
    with contextlib.suppress(ConnectionClosed):
        for op, topics in (("unsubscribe", removed), ("subscribe", added)):
            for text in requests(op, topics):
                await ws.send(text)


class ShardedTopics:
    def __init__(
        self,
        product: str,
        *,
        capacity: int,
        make_spec: Callable[[TopicShard], FeedSpec],
        send_changes: SendChanges,
        pool: FeedPool,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.product = product
        self.capacity = capacity
        self.shards: list[TopicShard] = []
        self._make_spec = make_spec
        self._send_changes = send_changes
        self._pool = pool

    def topics(self) -> set[str]:
        out: set[str] = set()
        for shard in self.shards:
            out |= shard.topics
        return out

    async def update(self, wanted: set[str]) -> None:
        """Bring the connections' subscriptions to exactly `wanted`."""
        current = self.topics()
        gone, added = current - wanted, sorted(wanted - current)
        removals: dict[TopicShard, list[str]] = {}
        for shard in self.shards:
            dropped = shard.topics & gone
            if dropped:
                removals[shard] = sorted(dropped - shard.refused)
                shard.topics -= dropped
                shard.refused -= dropped
        existing = list(self.shards)
        additions: dict[TopicShard, list[str]] = {}
        for topic in added:
            room = next((s for s in self.shards if len(s.topics) < self.capacity), None)
            if room is None:
                room = TopicShard(self._free_label())
                self.shards.append(room)
            room.topics.add(topic)
            additions.setdefault(room, []).append(topic)
        for shard in [s for s in self.shards if not s.topics]:
            self.shards.remove(shard)
            if shard.feed is not None:
                await self._pool.retire(shard.feed)
        for shard in existing:
            if shard in self.shards and (additions.get(shard) or removals.get(shard)):
                await self._send_changes(shard, additions.get(shard, []), removals.get(shard, []))
        for shard in self.shards:
            if shard.feed is None:
                shard.feed = self._pool.start(self._make_spec(shard))

    def refused(self) -> int:
        return sum(len(shard.refused) for shard in self.shards)

    def retry_refused(self) -> int:
        """Ask again for every refused topic: each shard holding some moves to a fresh
        connection (opened and subscribed before the old one closes: no gap) that
        subscribes them with the rest. Returns how many topics are retried."""
        retried = 0
        for shard in self.shards:
            if shard.refused and shard.feed is not None:
                retried += len(shard.refused)
                shard.refused.clear()
                shard.feed.request_rollover()
        return retried

    def _free_label(self) -> str:
        used = {shard.label for shard in self.shards}
        n = 1
        while (label := self.product if n == 1 else f"{self.product}#{n}") in used:
            n += 1
        return label
