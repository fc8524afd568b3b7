"""Review: a collector outage that the collector itself could not report (a crash, or a
downtime longer than its status TTL) must still flag the windows that overlap it as
incomplete. Today the restarted collector records no gap at all, so /api/summary says
every window is complete although the venue was not being read for the whole outage."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from redis.asyncio import Redis

from liqmon import views
from liqmon.keys import Keys
from tests.collectors.servers import LoopbackVenue, poll_until, status_is
from tests.collectors.test_binance_collector import COINM, REST, USDM
from tests.procs import ServiceProcess


def _env(service_env: dict[str, str], venue: LoopbackVenue) -> dict[str, str]:
    return {
        **service_env,
        "LIQMON_BINANCE_USDM_WS_URL": f"{venue.ws_base}/market",
        "LIQMON_BINANCE_USDM_REST_URL": venue.http_base,
        "LIQMON_BINANCE_COINM_WS_URL": venue.ws_base,
        "LIQMON_BINANCE_COINM_REST_URL": venue.http_base,
        "LIQMON_COLLECTOR_STATUS_SECONDS": "0.2",
        "LIQMON_COLLECTOR_STATUS_TTL_SECONDS": "2",
    }


async def _start_connected(
    venue: LoopbackVenue, env: dict[str, str], tmp_path: Path, redis: Redis, keys: Keys
) -> ServiceProcess:
    proc = ServiceProcess("collector-binance", env, tmp_path).start()
    await venue.wait_for(lambda: bool(venue.open_on(USDM) and venue.open_on(COINM)), timeout=20)
    status = await status_is(
        redis, keys.collector_status("binance"), timeout=20, connected="1", pid=str(proc.pid)
    )
    assert status["pid"] == str(proc.pid)
    return proc


async def _assert_outage_flagged(redis: Redis, keys: Keys, down_from: int, down_to: int) -> None:
    gaps = await redis.zrange(keys.collector_gaps("binance"), 0, -1, withscores=True)
    summary = await views.read_summary(redis, keys, top=1)
    assert summary["windows"]["3m"]["incomplete"] is True, (
        f"collector was down {down_from}..{down_to} but 3m window says complete; gaps={gaps}"
    )


async def test_sigkilled_collector_outage_is_a_gap(
    redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    async with LoopbackVenue(REST) as venue:
        env = _env(service_env, venue)
        first = await _start_connected(venue, env, tmp_path, redis, keys)
        down_from = time.time_ns() // 1_000_000
        first.kill()  # crash / OOM kill: no chance to write a final status
        await poll_until(
            lambda: _absent(redis, keys.collector_status("binance")), timeout=10
        )  # outage longer than the status TTL
        down_to = time.time_ns() // 1_000_000
        second = await _start_connected(venue, env, tmp_path, redis, keys)
        try:
            await _assert_outage_flagged(redis, keys, down_from, down_to)
        finally:
            second.kill()


async def test_clean_stop_longer_than_status_ttl_is_a_gap(
    redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    async with LoopbackVenue(REST) as venue:
        env = _env(service_env, venue)
        first = await _start_connected(venue, env, tmp_path, redis, keys)
        down_from = time.time_ns() // 1_000_000
        assert await asyncio.to_thread(first.stop) == 0  # e.g. an upgrade or a host reboot
        await poll_until(lambda: _absent(redis, keys.collector_status("binance")), timeout=10)
        down_to = time.time_ns() // 1_000_000
        second = await _start_connected(venue, env, tmp_path, redis, keys)
        try:
            await _assert_outage_flagged(redis, keys, down_from, down_to)
        finally:
            second.kill()


async def _absent(redis: Redis, key: str) -> bool:
    return not await redis.exists(key)
