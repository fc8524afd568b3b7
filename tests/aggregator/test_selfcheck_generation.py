"""The self-check publishes drift only in the live generation's stats hash.

A rebuild swaps the generation pointer and then deletes the old generation's keys; a drift
report for the old generation written after that delete would leave its stats hash behind
for ever (seen as a stray `…:g1:stats` after a rebuild under load).
"""

from __future__ import annotations

from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon_aggregator.selfcheck import SelfCheck


async def test_drift_is_reported_in_the_live_generation(redis: Redis, keys: Keys) -> None:
    check = SelfCheck(redis, keys, max_future_ms=300_000)
    drift = await check.run_once(1)
    assert drift.ok
    stored = await redis.hgetall(keys.agg_stats(1))
    assert stored["drift_cents"] == "0" and int(stored["checked_ms"]) > 0


async def test_a_swapped_out_generation_gets_no_report(redis: Redis, keys: Keys) -> None:
    await redis.set(keys.agg_generation, 2)
    check = SelfCheck(redis, keys, max_future_ms=300_000)
    assert (await check.run_once(1)).ok
    assert await redis.exists(keys.agg_stats(1)) == 0
    await check.run_once(2)
    assert await redis.hget(keys.agg_stats(2), "drift_other") == "0"
