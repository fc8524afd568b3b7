"""`liqmon rebuild` recomputes the same read model from the stream into a new generation."""

from __future__ import annotations

import subprocess
import sys
import time

from redis.asyncio import Redis

from liqmon import views
from liqmon.bus import append_events
from liqmon.keys import Keys
from liqmon_aggregator.rebuild import ensure_layout
from liqmon_aggregator.testing import drain
from tests.aggregator.factory import make_event


async def test_rebuild_reproduces_the_summary(
    redis: Redis, keys: Keys, redis_url: str, service_env: dict[str, str]
) -> None:
    now = time.time_ns() // 1_000_000
    ages = [30_000, 45_000, 60_000, 20 * 60_000, 2 * 3_600_000, 20 * 3_600_000, 30 * 3_600_000]
    events = [
        make_event(
            n,
            now - ages[n % len(ages)] - n,
            symbol=("BTC", "ETH", "SOL")[n % 3],
            side=("long", "short")[n % 2],
            exchange=("binance", "okx", "bybit")[n % 3],
            cents=1_000 + 37 * n,
            sampled=n % 4 == 0,
        )
        for n in range(300)
    ]
    await append_events(redis, keys, events + events[::7], retention_ms=48 * 3_600_000)
    await drain(redis_url)
    before = await views.read_summary(redis, keys, top=10)
    series_args = {"symbol": None, "exchange": "okx", "since_ms": now - 3 * 3_600_000}
    series = await views.read_series(redis, keys, **series_args, until_ms=now)  # type: ignore[arg-type]
    coin = await views.read_symbol(redis, keys, "ETH")
    old_keys = await redis.keys(keys.agg("g1") + ":*")
    assert old_keys

    done = subprocess.run(
        [sys.executable, "-m", "liqmon", "rebuild"],
        env=service_env,
        capture_output=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()

    assert await views.read_generation(redis, keys) == 2
    assert await redis.keys(keys.agg("g1") + ":*") == []
    after = await views.read_summary(redis, keys, top=10)
    assert after["windows"] == before["windows"]
    assert after["windows"]["1d"]["long_count"] > 0
    assert await views.read_series(redis, keys, **series_args, until_ms=now) == series  # type: ignore[arg-type]
    assert await views.read_symbol(redis, keys, "ETH") == coin
    health = await views.read_aggregator_health(redis, keys)
    too_old = sum(1 for n in range(300) if n % 7 == 6)  # 30 h old: too late
    assert (health["generation"], health["applied"]) == (2, 300 - too_old)
    assert (health["too_late"], health["duplicates"]) == (too_old, len(events[::7]))

    # the live consumer follows the new generation
    late = make_event(10_000, time.time_ns() // 1_000_000, cents=123_45, symbol="XRP")
    await append_events(redis, keys, [late], retention_ms=48 * 3_600_000)
    await drain(redis_url)
    summary = await views.read_summary(redis, keys)
    assert {"symbol": "XRP", "usd": 123.45, "count": 1} in summary["windows"]["3m"]["top_long"]


async def test_a_generation_of_an_older_layout_is_rebuilt_at_start(
    redis: Redis, keys: Keys
) -> None:
    now = time.time_ns() // 1_000_000
    events = [make_event(n, now - 1000 * n, symbol="ETH", cents=500 + n) for n in range(20)]
    await append_events(redis, keys, events, retention_ms=48 * 3_600_000)
    # what an aggregator of the previous layout left: other key types, no `layout`
    await redis.hset(keys.agg_stats(1), mapping={"applied": "20"})
    await redis.hset(keys.agg_watermarks(1), mapping={"1d": "1"})
    await redis.sadd(keys.agg_bucket_ids(1, now // 5000), "x")
    rebuilt = await ensure_layout(redis, keys, retention_ms=48 * 3_600_000, max_future_ms=0)
    assert rebuilt and await views.read_generation(redis, keys) == 2
    assert await redis.keys(keys.agg("g1") + ":*") == []
    w = (await views.read_summary(redis, keys))["windows"]["3m"]
    assert (w["long_count"], round(w["long_usd"] * 100)) == (20, sum(500 + n for n in range(20)))
    again = await ensure_layout(redis, keys, retention_ms=48 * 3_600_000, max_future_ms=0)
    assert not again
