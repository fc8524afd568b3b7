"""The consumer's failure paths, in-process on the real Redis: malformed entries, a poison
entry that fails on every delivery, entries trimmed while pending, far-future events."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from liqmon import views
from liqmon.bus import append_events
from liqmon.keys import Keys
from liqmon_aggregator.apply import Applier
from liqmon_aggregator.consumer import Consumer, ensure_group
from liqmon_aggregator.settings import ConsumerSettings
from liqmon_aggregator.testing import backlog
from tests.aggregator.factory import make_event

RETENTION = 48 * 3_600_000


def consumer(redis: Redis, keys: Keys, name: str = "t1") -> Consumer:
    applier = Applier(redis, keys, retention_ms=RETENTION, max_future_ms=300_000)
    settings = ConsumerSettings(aggregator_max_deliveries=5)
    return Consumer(redis, redis, keys, applier, settings, name=name)


async def deadletters(redis: Redis, keys: Keys) -> list[dict[str, str]]:
    return [fields for _, fields in await redis.xrange(keys.deadletter)]


async def test_malformed_and_future_entries_are_deadlettered(redis: Redis, keys: Keys) -> None:
    now = time.time_ns() // 1_000_000
    await ensure_group(redis, keys)
    good = make_event(1, now - 1_000)
    await append_events(redis, keys, [good], retention_ms=RETENTION)
    await redis.xadd(keys.events, {"v": "1", "id": "x", "usd": "abc"})
    future = make_event(2, now + 3_600_000)
    await append_events(redis, keys, [future], retention_ms=RETENTION)
    c = consumer(redis, keys)
    await c.process(await c.read_new(None), {})
    letters = await deadletters(redis, keys)
    assert [(d["source"], d["reason"].split(":")[0]) for d in letters] == [
        ("aggregator", "malformed"),
        ("aggregator", "event time too far ahead"),
    ]
    assert future.id in letters[1]["raw"]
    assert await backlog(redis, keys) == (0, 0)
    health = await views.read_aggregator_health(redis, keys)
    assert (health["applied"], health["deadlettered"], health["future"]) == (1, 2, 1)


async def test_poison_entry_is_deadlettered_after_five_failures(redis: Redis, keys: Keys) -> None:
    now = time.time_ns() // 1_000_000
    await ensure_group(redis, keys)
    poison = make_event(1, now - 3_600_000)
    others = [make_event(n, now - 1_000) for n in range(2, 6)]
    # a key of the wrong type makes apply.lua fail for this one event only
    await redis.set(keys.agg_bucket_ids(1, poison.ts // views.BUCKET_MS), "not a set")
    await append_events(redis, keys, [poison, *others], retention_ms=RETENTION)
    c = consumer(redis, keys)
    await c.process(await c.read_new(None), {})
    summary = await views.read_summary(redis, keys)
    assert summary["windows"]["3m"]["long_count"] == 4  # the rest went through
    assert await backlog(redis, keys) == (0, 1)
    for _ in range(10):  # each claim is one more delivery
        await c.claim_idle(0)
        if (await backlog(redis, keys))[1] == 0:
            break
    letters = await deadletters(redis, keys)
    assert len(letters) == 1 and letters[0]["reason"] == "failed 5 deliveries"
    assert poison.id in letters[0]["raw"]
    assert await backlog(redis, keys) == (0, 0)


async def test_entry_trimmed_while_pending_is_acked_and_counted(redis: Redis, keys: Keys) -> None:
    now = time.time_ns() // 1_000_000
    await ensure_group(redis, keys)
    events = [make_event(n, now - 1_000) for n in range(3)]
    ids = await append_events(redis, keys, events, retention_ms=RETENTION)
    c = consumer(redis, keys)
    assert len(await c.read_new(None)) == 3  # delivered, then the process "dies"
    await redis.xdel(keys.events, ids[0])
    assert await c.drain_history() == 3
    assert await backlog(redis, keys) == (0, 0)
    health = await views.read_aggregator_health(redis, keys)
    assert (health["trimmed"], health["applied"]) == (1, 2)


async def test_restart_reads_own_pending_first(redis: Redis, keys: Keys) -> None:
    now = time.time_ns() // 1_000_000
    await ensure_group(redis, keys)
    await append_events(
        redis, keys, [make_event(n, now - 1_000) for n in range(5)], retention_ms=RETENTION
    )
    first = consumer(redis, keys, "agg-1")
    assert len(await first.read_new(None)) == 5  # crash before applying
    again = consumer(redis, keys, "agg-1")
    assert await again.drain_history() == 5
    assert await backlog(redis, keys) == (0, 0)
    summary = await views.read_summary(redis, keys)
    assert summary["windows"]["3m"]["long_count"] == 5
