"""Fixtures for the collector tests: settings pointing at loopback venues and the test Redis."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon_binance.settings import BinanceSettings
from liqmon_okx.settings import OkxSettings

#: Fast timers so reconnects, liveness and spec refreshes happen within a test's seconds.
FAST: dict[str, Any] = {
    "collector_status_seconds": 0.1,
    "collector_pong_timeout_seconds": 0.5,
    "collector_open_timeout_seconds": 2.0,
    "collector_backoff_initial_seconds": 0.05,
    "collector_backoff_max_seconds": 0.5,
    "collector_spec_min_gap_seconds": 0.1,
    "collector_flush_seconds": 3.0,
    "collector_hold_seconds": 30.0,
}


def binance_settings(redis_url: str, ws_base: str, http_base: str, **over: Any) -> BinanceSettings:
    return BinanceSettings(
        redis_url=redis_url,
        binance_usdm_ws_url=f"{ws_base}/market",
        binance_usdm_rest_url=http_base,
        binance_coinm_ws_url=ws_base,
        binance_coinm_rest_url=http_base,
        binance_ping_seconds=0.5,
        **{**FAST, **over},
    )


def okx_settings(redis_url: str, ws_base: str, http_base: str, **over: Any) -> OkxSettings:
    return OkxSettings(
        redis_url=redis_url,
        okx_ws_url=f"{ws_base}/ws/v5/public",
        okx_rest_url=http_base,
        okx_ping_seconds=0.5,
        **{**FAST, **over},
    )


async def stream_events(redis: Redis, keys: Keys) -> list[LiquidationEvent]:
    entries = await redis.xrange(keys.events)
    return [LiquidationEvent.from_fields(fields) for _, fields in entries]
