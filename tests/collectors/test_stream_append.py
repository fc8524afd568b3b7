"""The append script: each liquidation once on the stream, the per-symbol index written
with the same entry ids, both trimmed by time (docs/EVENTS.md "Repeats", "Per-symbol
index")."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from liqmon.collector.streamwrite import StreamAppender
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from tests.aggregator.factory import make_event

RETENTION = 48 * 3_600_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def stream_ids(redis: Redis, keys: Keys) -> list[str]:
    return [e["id"] for _, e in await redis.xrange(keys.events)]


async def test_a_repeat_is_refused_whatever_its_age_and_batch(redis: Redis, keys: Keys) -> None:
    now = now_ms()
    ages = [1_000, 3_600_000, 30 * 3_600_000, 60 * 86_400_000]  # 1 s .. 60 days old
    events = [make_event(n, now - age, symbol="BTC") for n, age in enumerate(ages)]
    appender = StreamAppender(redis, keys, retention_ms=RETENTION)
    assert await appender.append(events + events[:2]) == 4  # repeats inside one batch
    assert await appender.append(events[::-1]) == 0  # and in a later one (a retried batch)
    other = StreamAppender(redis, keys, retention_ms=RETENTION)  # a collector replica
    assert await other.append([events[3], make_event(9, now)]) == 1
    assert (appender.duplicates, other.duplicates) == (6, 1)
    ids = await stream_ids(redis, keys)
    assert sorted(ids) == sorted(e.id for e in [*events, make_event(9, now)])


async def test_concurrent_appends_of_the_same_events_land_once(redis: Redis, keys: Keys) -> None:
    now = now_ms()
    events = [make_event(n, now - n) for n in range(300)]
    writers = [StreamAppender(redis, keys, retention_ms=RETENTION) for _ in range(3)]
    added = await asyncio.gather(*(w.append(events) for w in writers))
    assert sum(added) == 300
    assert sorted(await stream_ids(redis, keys)) == sorted(e.id for e in events)


async def test_the_symbol_index_has_the_same_entry_ids(redis: Redis, keys: Keys) -> None:
    now = now_ms()
    symbols = ["BTC", "PEPE", "牛来", "A:B*?[x]", "BTC"]
    events = [make_event(n, now - n, symbol=s) for n, s in enumerate(symbols)]
    await StreamAppender(redis, keys, retention_ms=RETENTION).append(events)
    main = dict(await redis.xrange(keys.events))
    for symbol in set(symbols):
        index = await redis.xrange(keys.events_by_symbol(symbol))
        assert [main[sid]["symbol"] for sid, _ in index] == [symbol] * symbols.count(symbol)
        assert all(fields == {"i": ""} for _, fields in index)
    indexed = await redis.zrange(keys.indexed_symbols, 0, -1)
    assert sorted(indexed) == sorted(set(symbols))


async def test_an_index_quiet_past_the_retention_is_dropped(redis: Redis, keys: Keys) -> None:
    appender = StreamAppender(redis, keys, retention_ms=RETENTION)
    await appender.append([make_event(1, now_ms(), symbol="RARE")])
    # as if RARE's last append were older than the retention
    await redis.zadd(keys.indexed_symbols, {"RARE": now_ms() - RETENTION - 1000})
    await appender.append([make_event(2, now_ms(), symbol="BTC")])
    assert not await redis.exists(keys.events_by_symbol("RARE"))
    assert await redis.zrange(keys.indexed_symbols, 0, -1) == ["BTC"]


async def test_entries_are_what_the_raw_writer_writes(redis: Redis, keys: Keys) -> None:
    event: LiquidationEvent = make_event(1, now_ms(), symbol="ETH", sampled=True)
    await StreamAppender(redis, keys, retention_ms=RETENTION).append([event])
    [(_, fields)] = await redis.xrange(keys.events)
    assert list(fields.items()) == list(event.to_fields().items())
    assert LiquidationEvent.from_fields(fields) == event


async def test_repeats_are_refused_across_the_scripts_id_chunks(redis: Redis, keys: Keys) -> None:
    """One bucket, more ids than the script checks in one HMGET (1,000): a repeat in a later
    chunk of the same batch, and of an earlier batch, is still refused, in batch order."""
    now = now_ms() // 5000 * 5000  # one 5-second bucket
    events = [make_event(n, now + n % 5000) for n in range(2500)]
    appender = StreamAppender(redis, keys, retention_ms=RETENTION)
    assert await appender.append(events[:1200] + events[:10] + events[1200:]) == 2500
    assert await appender.append([*events[2400:], make_event(7000, now)]) == 1
    assert appender.duplicates == 110
    assert await stream_ids(redis, keys) == [*(e.id for e in events), f"{7000:032x}"]
