"""Consumer names leased from numbered slots (the aggregator's and the alerter's)."""

from __future__ import annotations

from redis.asyncio import Redis

from liqmon.consumer_slot import SlotLease, owner_token
from liqmon.keys import Keys


def lease(redis: Redis, keys: Keys, token: str) -> SlotLease:
    return SlotLease(redis, keys.agg_consumer_slot, "agg-", token, 60_000)


async def test_processes_get_the_lowest_free_distinct_slots(redis: Redis, keys: Keys) -> None:
    first, second = lease(redis, keys, owner_token()), lease(redis, keys, owner_token())
    assert first.token != second.token
    assert [await first.acquire(), await second.acquire()] == ["agg-1", "agg-2"]
    await first.release()
    # a restart finds its old (lowest free) name again
    assert await lease(redis, keys, owner_token()).acquire() == "agg-1"


async def test_refresh_takes_a_lapsed_slot_back_and_leaves_another_owners(
    redis: Redis, keys: Keys
) -> None:
    ours = lease(redis, keys, "us")
    await ours.acquire()
    await redis.delete(keys.agg_consumer_slot(1))  # the lease lapsed
    await ours.refresh()
    assert await redis.get(keys.agg_consumer_slot(1)) == "us"
    await redis.set(keys.agg_consumer_slot(1), "them")
    await ours.refresh()
    await ours.release()  # not ours any more: left alone
    assert await redis.get(keys.agg_consumer_slot(1)) == "them"


async def test_a_configured_name_leases_nothing(redis: Redis, keys: Keys) -> None:
    unused = lease(redis, keys, "us")
    await unused.refresh()
    await unused.release()
    assert await redis.keys("*") == []
