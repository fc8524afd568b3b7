"""The append script: each liquidation once on the stream, the per-symbol index written
with the same entry ids, both trimmed by time (docs/EVENTS.md "Repeats", "Per-symbol
index")."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import orjson
from redis.asyncio import Redis

from liqmon.collector.streamwrite import StreamAppender
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon.linger import BUSY_FROM
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


async def test_one_appender_carries_several_writers_batches_in_one_call(
    redis: Redis, keys: Keys
) -> None:
    """Group commit: batches handed in while a call is in flight go together in the next
    call, each keeping its order and its own count of repeats."""
    now = now_ms()
    appender = StreamAppender(redis, keys, retention_ms=RETENTION)
    venues = [
        [make_event(100 * v + n, now - n, symbol=f"C{v}") for n in range(50)] for v in range(4)
    ]
    await appender.append(venues[3][:10])  # already on the stream: repeats below
    calls_before = appender.calls
    added = await asyncio.gather(*(appender.append(batch) for batch in venues))
    assert added == [50, 50, 50, 40]
    assert appender.calls - calls_before == 2  # the first alone, then the three waiting
    assert appender.duplicates == 10
    on_stream = await stream_ids(redis, keys)
    for batch in venues:  # each writer's order is kept
        mine = {e.id for e in batch}
        assert [i for i in on_stream if i in mine] == [e.id for e in batch]


async def test_a_call_never_carries_more_than_max_rows(redis: Redis, keys: Keys) -> None:
    now = now_ms()
    appender = StreamAppender(redis, keys, retention_ms=RETENTION, max_rows=100)
    batches = [[make_event(100 * v + n, now - n) for n in range(60)] for v in range(5)]
    assert await asyncio.gather(*(appender.append(b) for b in batches)) == [60] * 5
    assert appender.calls == 5  # 60 + 60 > 100: one batch per call
    assert len(await stream_ids(redis, keys)) == 300


async def test_an_unencodable_batch_fails_alone(redis: Redis, keys: Keys) -> None:
    now = now_ms()
    appender = StreamAppender(redis, keys, retention_ms=RETENTION)
    good = [make_event(n, now - n) for n in range(20)]
    bad = [dataclasses.replace(make_event(99, now), symbol="BTC\ud800")]  # not UTF-8
    results = await asyncio.gather(
        appender.append(good[:10]),
        appender.append(bad),
        appender.append(good[10:]),
        return_exceptions=True,
    )
    assert results[0] == 10 and results[2] == 10
    assert isinstance(results[1], orjson.JSONEncodeError)
    assert sorted(await stream_ids(redis, keys)) == sorted(e.id for e in good)


async def test_after_a_busy_call_the_next_one_waits_for_the_batches_to_join(
    redis: Redis, keys: Keys
) -> None:
    """The linger: after a call of at least BUSY_FROM rows, the next call holds its turn
    for the linger, so batches handed in meanwhile share it; a quiet stream never waits."""
    now = now_ms()
    appender = StreamAppender(redis, keys, retention_ms=RETENTION, linger_s=60.0)
    quiet = [make_event(n, now - n) for n in range(BUSY_FROM - 1)]
    assert await asyncio.wait_for(appender.append(quiet), 10) == len(quiet)
    assert await asyncio.wait_for(appender.append([make_event(500, now)]), 10) == 1

    busy = StreamAppender(redis, keys, retention_ms=RETENTION, linger_s=0.5)
    await busy.append([make_event(1000 + n, now - n) for n in range(BUSY_FROM)])
    first = asyncio.create_task(busy.append([make_event(2000, now)]))
    while not busy._turn.locked():  # the first one holds the turn, lingering
        await asyncio.sleep(0)
    later = [busy.append([make_event(3000 + n, now)]) for n in range(3)]
    assert await asyncio.gather(first, *later) == [1, 1, 1, 1]
    assert busy.calls == 2  # the busy call, then one carrying all four
