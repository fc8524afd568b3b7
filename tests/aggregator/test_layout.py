"""The window layout: Python (liqmon.windows, fold.py) and the Lua scripts agree on every
field, and the average price keeps its digits for coins priced far below a cent."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from liqmon import views
from liqmon.keys import Keys
from liqmon.windows import CAP, WINDOWS, coin_fields, total_fields
from liqmon_aggregator.apply import Applier, prepare
from liqmon_aggregator.evictor import Evictor
from liqmon_aggregator.selfcheck import SelfCheck
from tests.aggregator.factory import make_event

MAX_FUTURE = 300_000
DAY = 86_400_000


def applier(redis: Redis, keys: Keys, clock: list[int]) -> Applier:
    return Applier(
        redis, keys, retention_ms=48 * 3_600_000, max_future_ms=MAX_FUTURE, group="",
        clock=lambda: clock[0],
    )  # fmt: skip


async def test_fields_written_by_lua_are_the_layouts_and_eviction_empties_them(
    redis: Redis, keys: Keys
) -> None:
    clock = [time.time_ns() // 1_000_000]
    events = [
        make_event(1, clock[0] - 1000, symbol="PEPE", side="long", exchange="okx",
                   price="0.0000123", sampled=True),
        make_event(2, clock[0] - 2000, symbol="PEPE", side="short", exchange="bybit",
                   price="0.0000124"),
    ]  # fmt: skip
    got = await applier(redis, keys, clock).apply(
        [prepare(f"1-{i}", e) for i, e in enumerate(events)]
    )
    assert got == "AA"
    for w in WINDOWS:
        totals = set(await redis.hkeys(keys.agg_window(1, w)))
        want = {*total_fields("L"), *total_fields("L", "okx"), *total_fields("S")}
        want |= {*total_fields("S", "bybit"), CAP}
        assert totals == want, w
        coins = set(await redis.hkeys(keys.agg_window_coins(1, w)))
        layout = set(coin_fields("PEPE", "L")) | set(coin_fields("PEPE", "S"))
        assert coins and coins <= layout, w  # zero limbs are left out
        assert {f"PEPE:{s}" for s in "LS"} | {f"PEPE:{s}n" for s in "LS"} <= coins
    check = SelfCheck(redis, keys, max_future_ms=MAX_FUTURE, clock=lambda: clock[0])
    assert (await check.run_once(1, WINDOWS)).ok
    clock[0] += DAY + 60_000
    await Evictor(redis, keys, clock=lambda: clock[0]).run_once(1)
    for w in WINDOWS:
        assert await redis.hgetall(keys.agg_window(1, w)) == {}, w
        assert await redis.hgetall(keys.agg_window_coins(1, w)) == {}, w
        assert await redis.zcard(keys.agg_rank(1, w, "L")) == 0
    assert await redis.zcard(keys.agg_bucket_index(1)) == 0
    assert await redis.hlen(keys.agg_largest_events(1)) == 0
    assert await redis.keys(keys.agg("g1", "b") + ":*") == []


async def test_average_price_of_a_coin_priced_below_1e_8_keeps_its_digits(
    redis: Redis, keys: Keys
) -> None:
    clock = [time.time_ns() // 1_000_000]
    events = [
        make_event(1, clock[0] - 1000, symbol="TINY", price="0.000000001234567", cents=100),
        make_event(2, clock[0] - 2000, symbol="TINY", price="0.000000001234569", cents=300),
        make_event(3, clock[0] - 3000, symbol="TINIER", price="0.0000000000123457", cents=7),
        make_event(4, clock[0] - 4000, symbol="BTC", price="95000.5", cents=10**13),
    ]
    batch = [prepare(f"1-{i}", e) for i, e in enumerate(events)]
    assert await applier(redis, keys, clock).apply(batch) == "AAAA"
    tiny = (await views.read_symbol(redis, keys, "TINY"))["windows"]["1d"]
    # (1.234567e-9 * 100 + 1.234569e-9 * 300) / 400, exactly
    assert tiny["long_avg_price"] == "0.0000000012345685"
    assert (tiny["long_usd"], tiny["long_count"]) == (4.0, 2)
    tinier = (await views.read_symbol(redis, keys, "TINIER"))["windows"]["3m"]
    assert tinier["long_avg_price"] == "0.0000000000123457"
    btc = (await views.read_symbol(redis, keys, "BTC"))["windows"]["3m"]
    assert (btc["long_avg_price"], btc["long_usd"]) == ("95000.5", 10**11)
