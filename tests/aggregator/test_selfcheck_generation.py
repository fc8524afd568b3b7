"""The self-check publishes drift only in the live generation's stats hash.

A rebuild swaps the generation pointer and then deletes the old generation's keys; a drift
report for the old generation written after that delete would leave its stats hash behind
for ever (seen as a stray `…:g1:stats` after a rebuild under load).
"""

from __future__ import annotations

from typing import Any

import pytest
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


async def test_a_swap_between_the_check_and_the_write_gets_no_report(
    redis: Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race itself, made deterministic: a rebuild swaps the pointer and deletes the old
    generation's stats after the report read the pointer and before its write went out.
    The write must not land (a plain check-then-write recreated the hash here)."""
    check = SelfCheck(redis, keys, max_future_ms=300_000)
    real_transaction = redis.transaction
    swaps = 0

    async def transaction(func: Any, *watches: Any, **options: Any) -> Any:
        async def read_then_rebuild(pipe: Any) -> None:
            nonlocal swaps
            await func(pipe)  # read the pointer (generation 1), queue the write
            if swaps == 0:  # the rebuild, on another connection, before the EXEC
                swaps += 1
                await redis.set(keys.agg_generation, 2)
                await redis.delete(keys.agg_stats(1))

        return await real_transaction(read_then_rebuild, *watches, **options)

    monkeypatch.setattr(redis, "transaction", transaction)
    assert (await check.run_once(1)).ok
    assert swaps == 1
    assert await redis.exists(keys.agg_stats(1)) == 0
