"""Raw writes of events to the stream, bypassing the collectors' append script.

Production events reach `liq:v1:events` only through `liqmon.collector.streamwrite`
(one atomic script per batch: the per-symbol index, the append-time dedup). This plain
pipelined XADD writes exactly the same entries but checks nothing, so tests use it to put
repeats and old events on the stream (the aggregator must stay exact whatever reaches it).
Production code never imports it; the clock is `liqmon.clock`.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from liqmon.clock import now_ms
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys

__all__ = ["append_events"]


async def append_events(
    redis: Redis,
    keys: Keys,
    events: Sequence[LiquidationEvent],
    *,
    retention_ms: int,
) -> list[str]:
    """XADD a batch in one pipelined round trip, in order; return the stream ids.

    The first XADD of the batch carries the time trim (approximate, so it only frees whole
    radix-tree nodes and costs next to nothing).
    """
    if not events:
        return []
    pipe = redis.pipeline(transaction=False)
    minid = str(now_ms() - retention_ms)
    for index, event in enumerate(events):
        if index == 0:
            pipe.xadd(keys.events, event.to_fields(), minid=minid, approximate=True)  # type: ignore[arg-type]
        else:
            pipe.xadd(keys.events, event.to_fields())  # type: ignore[arg-type]
    ids = await pipe.execute()
    return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]
