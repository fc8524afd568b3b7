"""A dust liquidation ($0.00, e.g. a dYdX fill of 1e-9 BTC) is counted: +1 in every window,
+0 cents, no division by its zero notional, and no $0.00 coin in the rankings."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from liqmon import views
from liqmon.bus import append_events
from liqmon.keys import Keys
from liqmon_aggregator.testing import drain
from tests.aggregator.factory import make_event

RETENTION = 48 * 3_600_000


async def test_dust_counts_at_zero_dollars(redis: Redis, keys: Keys, redis_url: str) -> None:
    now = time.time_ns() // 1_000_000
    events = [
        make_event(1, now - 1_000, symbol="BTC", side="long", cents=0, exchange="dydx"),
        make_event(2, now - 2_000, symbol="DOGE", side="long", cents=0, exchange="dydx"),
        make_event(3, now - 3_000, symbol="BTC", side="long", cents=2_80, exchange="dydx"),
    ]
    await append_events(redis, keys, events, retention_ms=RETENTION)
    await drain(redis_url)
    w3 = (await views.read_summary(redis, keys, top=5))["windows"]["3m"]
    assert (w3["long_count"], w3["long_usd"]) == (3, 2.8)
    assert w3["by_exchange"]["dydx"]["long_count"] == 3
    assert w3["top_long"] == [{"symbol": "BTC", "usd": 2.8, "count": 2}]  # DOGE: $0.00, unranked
    doge = await views.read_symbol(redis, keys, "DOGE")
    assert doge["windows"]["3m"]["long_count"] == 1
    assert doge["windows"]["3m"]["long_avg_price"] is None  # no USD weight: no average
    health = await views.read_aggregator_health(redis, keys)
    assert health["applied"] == 3 and health["drift_cents"] == 0
