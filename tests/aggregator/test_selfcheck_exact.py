"""The self-check stays exact when a coin's price-weight limbs pass 2^53.

A window's limb is the sum of one limb (< 2^LIMB_BITS) per apply call and bucket of the
coin, so a busy coin takes its limbs in the 1h window past 2^53 after ~8,000 such records
(a crash day: minutes). Redis keeps them exactly (HINCRBY, 64-bit); the self-check must
recount and compare them exactly too, not as Lua doubles (which round there: a false
"drift ... other units" alarm, in multiples of the doubles' spacing).
"""

from __future__ import annotations

import io
import random
import time

import msgpack
from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon.windows import BUCKET_MS, LIMB_BITS, LIMB_MASK, window_buckets
from liqmon_aggregator.apply import prepare
from liqmon_aggregator.fold import RECORD_MAX, _records
from liqmon_aggregator.selfcheck import SelfCheck
from tests.aggregator.factory import clocked, make_event
from tests.aggregator.model import Model, assert_window_stored

MAX_FUTURE = 300_000
#: 2^80 - 1 price units: with c cents the weight's two low limbs are 2^40 - c and
#: 2^40 - 1, so every record adds nearly 2^40 to them.
ALL_ONES_PRICE = "1208925.819614629174706175"
#: The largest price and notional the event schema admits (16 integer digits, $1e11).
MAX_PRICE, MAX_CENTS = "9999999999999999.999999999999999999", 10**13


async def test_limbs_past_2_53_recount_exactly(redis: Redis, keys: Keys, redis_url: str) -> None:
    clock = [(time.time_ns() // 1_000_000) // BUCKET_MS * BUCKET_MS + 1_000]
    now = clock[0]
    applier, evictor = clocked(redis, keys, clock, max_future_ms=MAX_FUTURE)
    model = Model(MAX_FUTURE)
    rng = random.Random(7)
    span = window_buckets("1h")
    made = 0
    for batch_no in range(14):
        batch = []
        for b in range(span - 1):  # one event in each bucket of the 1h window
            ts = now - b * BUCKET_MS - rng.randrange(BUCKET_MS)
            if batch_no == 0 and b < 40:  # the schema's extremes: every limb in use
                event = make_event(made, ts, symbol="PEPE", cents=MAX_CENTS, price=MAX_PRICE)
            else:
                cents = rng.randrange(1, 10**6)
                event = make_event(made, ts, symbol="PEPE", cents=cents, price=ALL_ONES_PRICE)
            made += 1
            batch.append(event)
        got = await applier.apply([prepare(f"1-{made}-{i}", e) for i, e in enumerate(batch)])
        assert got == "".join(model.apply(now, e) for e in batch)
    await evictor.run_once(1)
    model.evict(now)

    # Redis holds the exact sums, and they are past a double's exact range
    for window in ("3m", "15m", "1h"):
        await assert_window_stored(redis, keys, model, window)
        stored = await redis.hgetall(keys.agg_window_coins(1, window))
        weight = sum(int(v) << (LIMB_BITS * int(f[-1])) for f, v in stored.items() if f[-2] == "p")
        assert weight == sum(applier_weight(e) for e in model.window(window) if e.symbol == "PEPE")
    assert int(stored["PEPE:Lp0"]) > 2**53 and int(stored["PEPE:Lp0"]) > LIMB_MASK

    drift = await SelfCheck(redis, keys, max_future_ms=MAX_FUTURE, clock=lambda: now).run_once(1)
    assert drift.ok, drift


def applier_weight(event: object) -> int:
    return prepare("0-0", event).weight  # type: ignore[arg-type]


async def test_bucket_cents_past_2_53_evict_exactly(
    redis: Redis, keys: Keys, redis_url: str
) -> None:
    """901 events of the schema's largest notional ($1e11) in one bucket take its totals
    past 2^53 cents: eviction and the self-check must still subtract and recount exactly."""
    clock = [(time.time_ns() // 1_000_000) // BUCKET_MS * BUCKET_MS + 1_000]
    applier, evictor = clocked(redis, keys, clock, max_future_ms=MAX_FUTURE)
    model = Model(MAX_FUTURE)
    batch = [make_event(i, clock[0] - i % 3, cents=MAX_CENTS - i) for i in range(1_000)]
    batch.append(make_event(1_000, clock[0], cents=1))  # an odd sum: a double rounds it
    batch.append(make_event(1_001, clock[0] + 60_000, cents=12_345))  # stays in 3m
    got = await applier.apply([prepare(f"1-{i}", e) for i, e in enumerate(batch)])
    assert got == "".join(model.apply(clock[0], e) for e in batch)
    assert int(await redis.hget(keys.agg_window(1, "3m"), "L") or 0) > 2**53
    clock[0] += 200_000  # the big bucket leaves 3m; the small one stays
    await evictor.run_once(1)
    model.evict(clock[0])
    for window in ("3m", "15m", "1h"):
        await assert_window_stored(redis, keys, model, window)
    drift = await SelfCheck(redis, keys, max_future_ms=MAX_FUTURE, clock=lambda: clock[0]).run_once(
        1
    )
    assert drift.ok, drift


def test_records_keep_every_value_exact_for_lua() -> None:
    """A record value past 2^52 (cents, or the last limb of a batch's summed weight) is
    split over records that add up to it, each exact as a Lua double."""
    row = [3 * RECORD_MAX + 5, 7, 1, 0, 0, RECORD_MAX + 9]
    got = list(msgpack.Unpacker(io.BytesIO(_records({("PEPE", "L"): row}))))
    assert all(r[:2] == ["PEPE", "L"] and max(r[2:]) <= RECORD_MAX for r in got)
    sums = [sum(r[i] if i < len(r) else 0 for r in got) for i in range(2, 8)]
    assert sums == row
