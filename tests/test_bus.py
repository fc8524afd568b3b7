"""The bus writers against a real Redis: order, trimming by time, bounded dead letters."""

from __future__ import annotations

from redis.asyncio import Redis

from liqmon.bus import append_events
from liqmon.clock import now_ms
from liqmon.deadletter import DEADLETTER_RAW_LIMIT, append_deadletters, deadletter_fields
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from tests.test_event import sample


async def test_append_events_keeps_order_and_schema(redis: Redis, keys: Keys) -> None:
    events = [sample(id=f"{i:032x}", usd_cents=100 + i) for i in range(50)]
    ids = await append_events(redis, keys, events, retention_ms=48 * 3_600_000)
    assert len(ids) == 50
    entries = await redis.xrange(keys.events)
    assert [e[0] for e in entries] == ids
    assert [LiquidationEvent.from_fields(f) for _, f in entries] == events


async def test_old_entries_are_trimmed_by_time(redis: Redis, keys: Keys) -> None:
    old = now_ms() - 50 * 3_600_000
    for i in range(300):  # several radix nodes of entries older than the retention
        await redis.xadd(keys.events, {"v": "1"}, id=f"{old + i}-0")
    await append_events(redis, keys, [sample()], retention_ms=48 * 3_600_000)
    assert await redis.xlen(keys.events) < 301


async def test_deadletters_capped(redis: Redis, keys: Keys) -> None:
    big = "x" * (DEADLETTER_RAW_LIMIT * 3)
    await append_deadletters(
        redis, keys, [deadletter_fields(source="test", reason="too big", raw=big)]
    )
    [(_, fields)] = await redis.xrange(keys.deadletter)
    assert fields["truncated"] == "1" and len(fields["raw"]) == DEADLETTER_RAW_LIMIT
    assert fields["raw_len"] == str(len(big)) and fields["source"] == "test"
