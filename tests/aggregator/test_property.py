"""Property: random event sequences through the real scripts on the real Redis equal a
brute-force recomputation, window by window, exactly in cents.

Sequences mix duplicates (same event, new stream id), out-of-order and late events,
too-late ones (older than 1d when applied), far-future ones, three exchanges, sampled
events sharing a second, equal amounts (ties), and clock jumps that empty windows so
coin totals return to zero. Time is a controllable clock passed to the scripts (the
test-only override; production always uses Redis TIME).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from liqmon import views
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys, id_field
from liqmon.redis_client import create_redis
from liqmon_aggregator.apply import prepare
from liqmon_aggregator.selfcheck import SelfCheck
from tests.aggregator.factory import clocked, make_event
from tests.aggregator.model import Model, assert_window_stored

MAX_FUTURE = 300_000
DAY = 86_400_000
T0 = (time.time_ns() // 1_000_000) // 60_000 * 60_000

offsets = st.one_of(
    st.integers(-10_000, 5_000),  # now-ish: a few buckets, shared seconds
    st.integers(-DAY, 0),  # anywhere in the day
    st.integers(-DAY - 10_000, -DAY + 10_000),  # around the too-late limit
    st.integers(MAX_FUTURE - 5_000, MAX_FUTURE + 5_000),  # around the future limit
)
new_event = st.tuples(
    st.just("new"),
    offsets,
    st.sampled_from(["BTC", "ETH", "SOL"]),
    st.sampled_from(["long", "short"]),
    st.sampled_from(["binance", "okx", "bybit"]),
    st.one_of(st.sampled_from([100, 5_000]), st.integers(1, 10**11)),
    st.sampled_from(["95000.5", "0.00001234", "3100", "1"]),
    st.booleans(),
)
operation = st.one_of(
    new_event,
    st.tuples(st.just("dup"), st.integers(0, 1000)),
    st.tuples(st.just("flush")),
    st.tuples(st.just("advance"), st.sampled_from([1_000, 7_000, 180_000, 3_600_000, 47_000_000])),
)


async def run(redis_url: str, ops: list[tuple[Any, ...]], seen: set[str]) -> None:
    redis = create_redis(redis_url)
    keys = Keys("liq")
    try:
        await redis.flushdb()
        clock = [T0]
        applier, evictor = clocked(redis, keys, clock, max_future_ms=MAX_FUTURE)
        model = Model(MAX_FUTURE)
        made: list[LiquidationEvent] = []
        batch: list[LiquidationEvent] = []

        async def flush() -> None:
            if not batch:
                return
            prepared = [prepare(f"{T0}-{len(made)}-{i}", e) for i, e in enumerate(batch)]
            got = await applier.apply(prepared)
            want = "".join(model.apply(clock[0], e) for e in batch)
            assert got == want
            seen.update(got)
            batch.clear()

        for op in ops:
            if op[0] == "new":
                _, off, sym, side, ex, cents, price, sampled = op
                event = make_event(
                    len(made), clock[0] + off, symbol=sym, side=side, exchange=ex,
                    cents=cents, price=price, sampled=sampled,
                )  # fmt: skip
                made.append(event)
                batch.append(event)
            elif op[0] == "dup" and made:
                batch.append(made[op[1] % len(made)])
            elif op[0] == "flush":
                await flush()
            elif op[0] == "advance":
                await flush()
                clock[0] += op[1]
                await evictor.run_once(1)
                model.evict(clock[0])
        await flush()
        await evictor.run_once(1)
        model.evict(clock[0])
        await compare(redis, keys, model)
        drift = await SelfCheck(
            redis, keys, max_future_ms=MAX_FUTURE, clock=lambda: clock[0]
        ).run_once(1, tuple(views.WINDOWS))
        assert drift.ok, drift
    finally:
        await redis.aclose()


async def compare_series(redis: Any, keys: Keys, model: Model) -> None:
    for scope in ("all", "ex:okx", "c:BTC", "cx:ETH:bybit"):
        pattern = keys.agg_series(1, scope, 0)[:-1] + "*"
        stored = {}
        async for key in redis.scan_iter(match=pattern, count=1000):
            hour = int(key.rsplit(":", 1)[1])
            stored[hour] = {f: int(v) for f, v in (await redis.hgetall(key)).items()}
        assert stored == model.series(scope), scope


async def compare_applied_ids(redis: Any, keys: Keys, model: Model) -> None:
    """The ids apply.lua stored are exactly the applied events' (per bucket, for every
    bucket the 1d window still holds; eviction drops the older ones)."""
    want: dict[int, set[bytes]] = defaultdict(set)
    for e in model.applied:
        if e.ts // views.BUCKET_MS > model.wm[views.WINDOWS[-1]]:
            want[e.ts // views.BUCKET_MS].add(id_field(e.id))
    buckets = await redis.zrange(keys.agg_bucket_index(1), 0, -1)
    assert sorted(int(b) for b in buckets) == sorted(want)
    for n, ids in want.items():
        key = keys.agg_bucket_ids(1, n)
        assert await redis.hlen(key) == len(ids), n
        assert None not in await redis.hmget(key, sorted(ids)), n


async def compare(redis: Any, keys: Keys, model: Model) -> None:
    await compare_series(redis, keys, model)
    await compare_applied_ids(redis, keys, model)
    summary = await views.read_summary(redis, keys, top=10)
    for w in views.WINDOWS:
        want = await assert_window_stored(redis, keys, model, w)
        for side in ("L", "S"):
            ranking = await redis.zrange(keys.agg_rank(1, w, side), 0, -1, withscores=True)
            want_rank = {k[:-2]: v for k, v in want["coins"].items() if k.endswith(f":{side}")}
            assert {m: int(s) for m, s in ranking} == want_rank, (w, side)
        got = summary["windows"][w]
        largest = got["largest"]
        assert ((largest["id"], round(largest["usd"] * 100)) if largest else None) == want[
            "largest"
        ], w
        assert got["long_usd"] == round(want["totals"].get("L", 0) / 100, 2)
        assert got["capped_seconds"] == want["totals"].get("cap", 0)
        for key, avg in want["avg"].items():
            sym, side = key.split(":")
            coin = await views.read_symbol(redis, keys, sym)
            label = "long" if side == "L" else "short"
            assert coin["windows"][w][f"{label}_avg_price"] == avg, (w, key)
        top = sorted(
            ((v, k[:-2]) for k, v in want["coins"].items() if k.endswith(":L")), reverse=True
        )
        assert [(t["symbol"], round(t["usd"] * 100), t["count"]) for t in got["top_long"]] == [
            (sym, cents, want["coins"][f"{sym}:Ln"]) for cents, sym in top
        ]


@pytest.mark.timeout(60)  # 80 examples, each against the real Redis
@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=80))
def test_windows_equal_brute_force(redis_url: str, ops: list[tuple[Any, ...]]) -> None:
    seen: set[str] = set()
    asyncio.run(run(redis_url, ops, seen))
    for letter in sorted(seen):
        event(f"status {letter}")
