"""`python -m liqmon.healthcheck` against a real Redis and a real aggregator process (no
Docker needed): each replica's check is about that replica."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from redis.asyncio import Redis

from liqmon.collector.status import CollectorStatus
from liqmon.healthcheck import (
    FRESH_MS,
    aggregator_alive_here,
    collector_alive_here,
    running_services,
)
from liqmon.keys import Keys
from tests.procs import running


async def wait_for(condition, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def healthcheck(service: str, env: dict[str, str]) -> int:
    return subprocess.run(
        [sys.executable, "-m", "liqmon.healthcheck", service], env=env, capture_output=True
    ).returncode


def test_the_services_are_read_from_pid_1s_command_line(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    web = b"/usr/local/bin/python\0/usr/local/bin/liqmon\0run\0web\0"
    assert running_services(web) == ["web"]
    assert running_services(b"python\0-m\0liqmon\0run\0collector-okx\0") == ["collector-okx"]
    grouped = b"liqmon\0run\0collector-okx\0collector-bybit\0"
    assert running_services(grouped) == ["collector-okx", "collector-bybit"]
    monkeypatch.setenv("LIQMON_COLLECTORS", "bybit,binance")
    assert running_services(b"liqmon\0run\0collectors\0") == [
        "collector-binance",
        "collector-bybit",
    ]
    assert running_services(b"redis-server\0--appendonly\0yes\0") == []
    assert running_services(b"liqmon\0run\0") == []


async def test_an_aggregator_replica_is_healthy_only_by_its_own_heartbeat(
    redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    here = socket.gethostname()
    assert healthcheck("aggregator", service_env) == 1  # nothing runs yet
    with running("aggregator", service_env, tmp_path):
        now = lambda: time.time_ns() // 1_000_000  # noqa: E731

        async def beating() -> bool:
            return await aggregator_alive_here(redis, keys, here, now())

        await wait_for(beating)
        assert healthcheck("aggregator", service_env) == 0
        # another container (another host name) sees this replica's heartbeat in the same
        # Redis, yet its own replica is not running: it must not pass
        assert not await aggregator_alive_here(redis, keys, "another-replica", now())
        # a heartbeat that stops being refreshed stops counting
        assert not await aggregator_alive_here(redis, keys, here, now() + FRESH_MS + 10_000)


async def test_a_collector_replica_is_healthy_only_by_its_own_publishes(
    redis: Redis, keys: Keys, service_env: dict[str, str]
) -> None:
    """Replicas of a venue share its status hash; the check asks whether THIS host's
    collector published in the last 30 s, not whether any did."""
    here = socket.gethostname()
    assert healthcheck("collector-okx", service_env) == 1  # nothing runs yet
    other = CollectorStatus("okx", keys, retention_ms=10**9, host="another-replica")
    assert await other.publish(redis)
    assert await redis.exists(keys.collector_status("okx"))  # the venue's status is fresh...
    assert healthcheck("collector-okx", service_env) == 1  # ...but not from this host
    mine = CollectorStatus("okx", keys, retention_ms=10**9)
    assert mine.replica == f"{here}:{os.getpid()}"
    assert await mine.publish(redis)
    assert healthcheck("collector-okx", service_env) == 0
    now = time.time_ns() // 1_000_000
    assert await collector_alive_here(redis, keys, "okx", here, now)
    # a replica that stops publishing stops counting, whatever the others do
    assert not await collector_alive_here(redis, keys, "okx", here, now + FRESH_MS + 10_000)
    await mine.publish(redis, final=True)  # a clean stop takes its host out at once
    assert healthcheck("collector-okx", service_env) == 1
    assert await collector_alive_here(redis, keys, "okx", "another-replica", now)


async def test_a_replica_gone_for_a_ttl_is_dropped_by_the_next_publish(
    redis: Redis, keys: Keys
) -> None:
    status = CollectorStatus("okx", keys, retention_ms=10**9, ttl_seconds=30, host="live")
    replicas = keys.collector_replicas("okx")
    await redis.zadd(replicas, {"killed:7": time.time_ns() // 1_000_000 - 31_000})
    assert await status.publish(redis)
    assert await redis.zrange(replicas, 0, -1) == [status.replica]
    assert 0 < await redis.ttl(replicas) <= 30
