"""`liqmon rebuild` puts back the per-symbol index entries of the retained stream that the
index misses (appended before it existed), keeping what the collectors append meanwhile."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from liqmon.bus import append_events
from liqmon.collector.streamwrite import StreamAppender
from liqmon.keys import Keys
from liqmon_aggregator.symbol_index import backfill_symbol_index
from tests.aggregator.factory import make_event

RETENTION = 48 * 3_600_000


async def test_backfill_indexes_old_entries_before_the_live_ones(redis: Redis, keys: Keys) -> None:
    now = time.time_ns() // 1_000_000
    old = [make_event(n, now - n, symbol=("DOGE", "SOL")[n % 2]) for n in range(40)]
    await append_events(redis, keys, old, retention_ms=RETENTION)  # no index: before it existed
    new = [make_event(100 + n, now, symbol="DOGE") for n in range(5)]
    await StreamAppender(redis, keys, retention_ms=RETENTION).append(new)
    assert await redis.xlen(keys.events_by_symbol("DOGE")) == 5
    assert await backfill_symbol_index(redis, keys) == 40
    main = await redis.xrange(keys.events)
    for symbol in ("DOGE", "SOL"):
        want = [sid for sid, fields in main if fields["symbol"] == symbol]
        got = [sid for sid, _ in await redis.xrange(keys.events_by_symbol(symbol))]
        assert got == want, symbol
    assert await backfill_symbol_index(redis, keys) == 0  # nothing missing any more
    assert sorted(await redis.zrange(keys.indexed_symbols, 0, -1)) == ["DOGE", "SOL"]
