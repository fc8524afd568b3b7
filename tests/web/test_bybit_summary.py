"""A third venue needs no web change: Bybit events (as the collector writes them, parsed from
a recorded frame) appear in /api/summary's per-exchange split and /api/liquidations."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from liqmon.bus import append_events
from liqmon.keys import Keys
from liqmon_aggregator.testing import drain
from liqmon_bybit.parser import AllLiquidationParser
from tests.web.conftest import Web
from tests.web.helpers import make_event, now_ms

RETENTION_MS = 48 * 3_600_000


async def test_bybit_appears_in_the_summary_split(
    web: Web, redis_url: str, redis: Redis, keys: Keys
) -> None:
    ts = now_ms() - 60_000
    frame = orjson.dumps(
        {"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": ts + 400, "data": [
            {"T": ts, "s": "BTCUSDT", "S": "Buy", "v": "0.006", "p": "82396.90"},
            {"T": ts + 1, "s": "BTCUSDT", "S": "Sell", "v": "0.038", "p": "82394.30"},
        ]}
    ).decode()  # fmt: skip
    bybit = AllLiquidationParser("linear", {}).parse_frame(frame, ts + 500).events
    okx = make_event(ts=ts, exchange="okx", usd_cents=10_000)
    await append_events(redis, keys, [*bybit, okx], retention_ms=RETENTION_MS)
    await drain(redis_url, prefix="liq")
    window = (await web.client.get("/api/summary")).json()["windows"]["1h"]
    assert window["by_exchange"]["bybit"] == {
        "long_usd": 494.38, "short_usd": 3130.98, "long_count": 1, "short_count": 1,
    }  # fmt: skip
    assert window["by_exchange"]["okx"]["long_usd"] == 100
    page = (await web.client.get("/api/liquidations", params={"exchange": "bybit"})).json()
    assert {e["exchange"] for e in page["items"]} == {"bybit"} and len(page["items"]) == 2
