"""The read model over real Redis, fed through the real consumer (testing.drain)."""

from __future__ import annotations

from redis.asyncio import Redis

from liqmon import views
from liqmon.bus import append_events
from liqmon.clock import now_ms
from liqmon.keys import Keys
from liqmon_aggregator.testing import drain
from tests.aggregator.factory import make_event

RETENTION = 48 * 3_600_000


async def test_summary_after_drain(redis: Redis, keys: Keys, redis_url: str) -> None:
    now = now_ms()
    events = [
        make_event(1, now - 1_000, symbol="BTC", side="long", cents=150_000_00),
        make_event(2, now - 2_000, symbol="ETH", side="short", cents=20_000_00, exchange="okx"),
        make_event(3, now - 20 * 60_000, symbol="BTC", side="long", cents=1_00),
        make_event(4, now - 2 * 86_400_000, symbol="SOL", side="long", cents=9_00),  # too late
    ]
    await append_events(redis, keys, events + events[:2], retention_ms=RETENTION)
    await drain(redis_url)
    summary = await views.read_summary(redis, keys, top=5)
    assert abs(summary["as_of"] - now_ms()) < 5_000
    w3 = summary["windows"]["3m"]
    assert (w3["long_usd"], w3["long_count"]) == (150_000.0, 1)
    assert (w3["short_usd"], w3["short_count"]) == (20_000.0, 1)
    assert w3["by_exchange"]["okx"]["short_usd"] == 20_000.0
    assert w3["by_exchange"]["binance"]["short_count"] == 0
    assert w3["top_long"] == [{"symbol": "BTC", "usd": 150_000.0, "count": 1}]
    assert w3["largest"]["id"] == events[0].id
    assert w3["incomplete"] is False
    w1h = summary["windows"]["1h"]
    assert (w1h["long_usd"], w1h["long_count"]) == (150_001.0, 2)
    health = await views.read_aggregator_health(redis, keys)
    assert health["lag"] == 0 and health["pending"] == 0
    assert (health["applied"], health["duplicates"], health["too_late"]) == (3, 2, 1)

    coin = await views.read_symbol(redis, keys, "BTC")
    assert coin["windows"]["1h"]["long_avg_price"] == "95000.5"
    assert coin["windows"]["1h"]["short_avg_price"] is None
    w1d = summary["windows"]["1d"]
    assert (w1d["long_count"], w1d["short_count"]) == (2, 1)  # the too-late one left out
    series = await views.read_series(
        redis, keys, symbol="BTC", exchange=None, since_ms=now - 30 * 60_000, until_ms=now
    )
    assert len(series) == 31
    assert sum(p["long_usd"] for p in series) == 150_001.0

    # draining again is a no-op
    await drain(redis_url)
    assert (await views.read_summary(redis, keys))["windows"]["3m"] == {
        **w3,
        "top_long": w3["top_long"],
    }


async def test_incomplete_flag_from_gaps(redis: Redis, keys: Keys, redis_url: str) -> None:
    now = now_ms()
    gap = {f"{now - 600_000}:{now - 500_000}": now - 500_000}
    await redis.zadd(keys.collector_gaps("okx"), gap)
    await drain(redis_url)
    w = (await views.read_summary(redis, keys))["windows"]
    assert [w[x]["incomplete"] for x in views.WINDOWS] == [False, True, True, True, True, True]
    await redis.hset(keys.collector_status("binance"), mapping={"gap_open_since": str(now)})
    w = (await views.read_summary(redis, keys))["windows"]
    assert all(w[x]["incomplete"] for x in views.WINDOWS)


async def test_capped_seconds_and_avg_price(redis: Redis, keys: Keys, redis_url: str) -> None:
    now = now_ms() // 1000 * 1000 - 10_000
    events = [
        make_event(1, now + 1, sampled=True, price="100", cents=100_00),
        make_event(2, now + 999, sampled=True, price="200", cents=300_00),  # same second
        make_event(3, now + 1000, sampled=True, price="300", cents=100_00),
        make_event(4, now + 1000, symbol="ETH", exchange="okx", price="1", cents=1),
    ]
    await append_events(redis, keys, events, retention_ms=RETENTION)
    await drain(redis_url)
    w = (await views.read_summary(redis, keys))["windows"]["3m"]
    assert w["capped_seconds"] == 2
    coin = await views.read_symbol(redis, keys, "BTC")
    # (100*100 + 200*300 + 300*100) / 500
    assert coin["windows"]["3m"]["long_avg_price"] == "200"
