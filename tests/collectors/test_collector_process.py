"""`liqmon run collector-binance` / `collector-okx` as real child processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.collectors.conftest import stream_events
from tests.collectors.servers import LoopbackVenue, status_is, stream_reaches
from tests.collectors.test_binance_collector import COINM, REST, USDM
from tests.collectors.test_okx_collector import rest as okx_rest
from tests.collectors.wire import binance_frame, binance_usd_cents, okx_detail, okx_frame
from tests.procs import ServiceProcess


async def test_binance_process_writes_documented_events_and_stops_cleanly(
    redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    async with LoopbackVenue(REST) as venue:
        env = {
            **service_env,
            "LIQMON_BINANCE_USDM_WS_URL": f"{venue.ws_base}/market",
            "LIQMON_BINANCE_USDM_REST_URL": venue.http_base,
            "LIQMON_BINANCE_COINM_WS_URL": venue.ws_base,
            "LIQMON_BINANCE_COINM_REST_URL": venue.http_base,
            "LIQMON_COLLECTOR_STATUS_SECONDS": "0.2",
        }
        proc = ServiceProcess("collector-binance", env, tmp_path).start()
        try:
            await venue.wait_for(
                lambda: bool(venue.open_on(USDM) and venue.open_on(COINM)), timeout=20
            )
            await venue.broadcast(binance_frame(3, mode="combined"), USDM)
            await stream_reaches(redis, keys, 1, timeout=15)
            status = await status_is(redis, keys.collector_status("binance"), connected="1")
            assert status["pid"] == str(proc.pid)
            code = await asyncio.to_thread(proc.stop)
        finally:
            proc.kill()
    assert code == 0, proc.log()
    (event,) = await stream_events(redis, keys)  # LiquidationEvent.from_fields: the schema
    assert (event.exchange, event.product, event.symbol, event.side) == (
        "binance", "binance-usdm", "BTC", "long",
    )  # fmt: skip
    assert event.usd_cents == binance_usd_cents(3)
    final = await redis.hgetall(keys.collector_status("binance"))
    assert final["connected"] == "0" and final["gap_open_since"] != ""


async def test_okx_process_runs(
    redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    async with LoopbackVenue(okx_rest("BTC-USDT-SWAP")) as venue:
        env = {
            **service_env,
            "LIQMON_OKX_WS_URL": f"{venue.ws_base}/ws/v5/public",
            "LIQMON_OKX_REST_URL": venue.http_base,
        }
        proc = ServiceProcess("collector-okx", env, tmp_path).start()
        try:
            await venue.wait_for(lambda: len(venue.received) >= 1, timeout=20)
            await venue.broadcast(okx_frame([okx_detail(1), okx_detail(2)]))
            await stream_reaches(redis, keys, 2, timeout=15)
            code = await asyncio.to_thread(proc.stop)
        finally:
            proc.kill()
    assert code == 0, proc.log()
    assert {e.exchange for e in await stream_events(redis, keys)} == {"okx"}
