"""A bucket's largest event: a batch offers its best event (and builds its JSON) only when
it beats what this applier already stored there, and the record is the same either way."""

from __future__ import annotations

import time

import orjson
from redis.asyncio import Redis

from liqmon import views
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon_aggregator.apply import Applier, prepare
from tests.aggregator.factory import clocked, make_event


async def test_only_a_new_record_is_offered(redis: Redis, keys: Keys) -> None:
    clock = [time.time_ns() // 1_000_000 // 5_000 * 5_000 + 1_000]
    applier, _ = clocked(redis, keys, clock, max_future_ms=0)
    other, _ = clocked(redis, keys, clock, max_future_ms=0)  # another consumer's applier
    at = clock[0] - 500
    sids = iter(range(1, 100))

    async def offer(on: Applier, event: LiquidationEvent) -> list[str]:
        """Apply one event; what its plan offered as the bucket's largest ([] = nothing)."""
        batch = [prepare(f"1-{next(sids)}", event)]
        plan = on.fold(batch)
        assert await on.apply(batch, plan) == "A"
        (bucket,) = orjson.loads(plan.argv[0])["b"]
        return bucket["x"][:2]

    async def largest() -> str:
        return (await views.read_summary(redis, keys))["windows"]["3m"]["largest"]["id"]

    big, small, mid, bigger = (
        make_event(n, at, cents=c) for n, c in ((1, 900), (2, 300), (3, 500), (4, 901))
    )
    assert await offer(applier, big) == ["900", big.id]
    assert await offer(applier, small) == []  # cannot beat 900: no JSON built
    assert await largest() == big.id
    # an applier that has not seen the bucket offers its best; apply.lua keeps the record
    assert await offer(other, mid) == ["500", mid.id]
    assert await largest() == big.id
    assert await offer(applier, bigger) == ["901", bigger.id]
    assert await largest() == bigger.id
