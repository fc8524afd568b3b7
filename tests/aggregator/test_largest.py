"""A bucket's largest event: a batch offers its best event (and builds its JSON) only when
it beats what this applier already stored there, and the record is the same either way."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from liqmon import views
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon.redis_client import create_redis
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


async def test_a_redis_restart_that_lost_the_record_gets_it_again(tmp_path: Path) -> None:
    """A Redis restarted without its data (or with an AOF a second behind) no longer holds
    the record this applier remembers: after the failed call the applier forgets what it
    stored, so the next event of that bucket is offered and becomes the record."""
    server = EmbeddedRedis(tmp_path / "redis", persistent=False)
    await asyncio.to_thread(server.start)
    redis, keys = create_redis(server.url, retries=0), Keys("liq")
    try:
        clock = [time.time_ns() // 1_000_000 // 5_000 * 5_000 + 1_000]
        applier, _ = clocked(redis, keys, clock, max_future_ms=0)
        at = clock[0] - 500
        big, small = make_event(1, at, cents=900), make_event(2, at, cents=300)
        assert await applier.apply([prepare("1-1", big)]) == "A"
        await asyncio.to_thread(server.stop)
        with pytest.raises((RedisError, OSError)):
            await applier.apply([prepare("1-2", small)])
        await asyncio.to_thread(server.start)  # empty: the record is gone
        assert await applier.apply([prepare("1-2", small)]) == "A"
        summary = await views.read_summary(redis, keys)
        assert summary["windows"]["3m"]["largest"]["id"] == small.id
    finally:
        await redis.aclose()
        await asyncio.to_thread(server.stop)
