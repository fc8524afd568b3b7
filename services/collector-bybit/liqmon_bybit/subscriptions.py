"""Bybit subscribe/unsubscribe on the wire, for one connection's topics (`TopicShard`).

On each fresh connection `subscribe_shard` sends the shard's topics in requests that respect
Bybit's limits (`{"req_id":"open-N","op":"subscribe","args":[…]}`, at most
`bybit_topics_per_request` topics and `bybit_args_max_chars` characters of args each) and
returns once every request is acknowledged. A refused request is split in halves and re-sent
until the refused topics are found one by one; those are remembered in `shard.refused` (and
reported as venue errors, and `on_refused` is called so the venue retries them later with a
backoff) so one bad symbol never keeps the others unsubscribed or the connection in a
reconnect loop. An "already subscribed" answer counts as success (a re-sent half whose
topics had been accepted).

`send_changes` subscribes new listings and unsubscribes delistings on the connection that is
open now (`req_id` `live-N`); acks then arrive through the parser. A refused live subscribe
asks the runtime for a fresh connection (see parser), whose `subscribe_shard` sorts it out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.topics import TopicShard, chunk_topics
from liqmon.collector.venue import Deliver, recv_json
from liqmon_bybit.parser import LIVE_PREFIX

PING = orjson.dumps({"op": "ping"}).decode()
_ids = itertools.count(1)


@dataclass(frozen=True)
class RequestLimits:
    topics_per_request: int = 200
    args_max_chars: int = 21_000

    def chunks(self, topics: list[str]) -> list[list[str]]:
        return chunk_topics(
            topics, max_count=self.topics_per_request, max_chars=self.args_max_chars
        )


def request(op: str, topics: list[str], req_id: str) -> str:
    return orjson.dumps({"req_id": req_id, "op": op, "args": topics}).decode()


def _accepted(msg: dict[str, Any]) -> bool:
    if msg.get("success") is True:
        return True
    return "already" in str(msg.get("ret_msg", "")).lower()


async def subscribe_shard(
    shard: TopicShard,
    limits: RequestLimits,
    on_refused: Callable[[], None],
    ws: ClientConnection,
    deliver: Deliver,
) -> None:
    """The `FeedSpec.subscribe` hook of one Bybit connection."""
    shard.ws = ws  # live changes from now on go to this connection
    pending: dict[str, list[str]] = {}

    async def send(topics: list[str]) -> None:
        req_id = f"open-{next(_ids)}"
        pending[req_id] = topics
        await ws.send(request("subscribe", topics, req_id))

    for chunk in limits.chunks(shard.wanted):
        await send(chunk)
    while pending:
        raw, msg = await recv_json(ws)
        if not isinstance(msg, dict) or msg.get("op") != "subscribe":
            deliver(raw)
            continue
        req_id = str(msg.get("req_id") or "")
        if req_id in pending:
            topics = pending.pop(req_id)
        elif not req_id and pending:  # a server that does not echo req_id: in order
            topics = pending.pop(next(iter(pending)))
        else:
            deliver(raw)  # a live request's ack that raced this connect
            continue
        if _accepted(msg):
            continue
        if len(topics) > 1:
            half = len(topics) // 2
            await send(topics[:half])
            await send(topics[half:])
        else:
            shard.refused.update(topics)
            on_refused()
            deliver(raw)  # counted as a venue error, with Bybit's reason


def live_requests(limits: RequestLimits, op: str, topics: list[str]) -> Iterator[str]:
    """Requests sent on a live connection (`topics.send_live`): `req_id` `live-N`."""
    for chunk in limits.chunks(topics):
        yield request(op, chunk, f"{LIVE_PREFIX}{next(_ids)}")
