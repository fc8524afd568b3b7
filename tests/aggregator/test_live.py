"""With a real aggregator process running: testing.drain alongside it, and a rebuild while
events keep arriving (nothing is lost or doubled across the generation swap)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from redis.asyncio import Redis

from liqmon import views
from liqmon.bus import append_events
from liqmon.keys import Keys
from liqmon_aggregator.rebuild import rebuild
from liqmon_aggregator.testing import backlog, drain
from tests.aggregator.factory import make_event
from tests.procs import running

RETENTION = 48 * 3_600_000


def batch(start: int, n: int, now: int) -> list:  # type: ignore[type-arg]
    return [
        make_event(i, now - 60_000 - i % 1000, symbol=("BTC", "ETH")[i % 2], cents=100 + i)
        for i in range(start, start + n)
    ]


def expected_1h(events: list) -> tuple[int, int]:  # type: ignore[type-arg]
    unique = {e.id: e for e in events}
    return len(unique), sum(e.usd_cents for e in unique.values())


async def one_hour(redis: Redis, keys: Keys) -> tuple[int, int]:
    w = (await views.read_summary(redis, keys))["windows"]["1h"]
    return w["long_count"], round(w["long_usd"] * 100)


async def test_drain_beside_a_running_aggregator(
    redis: Redis, keys: Keys, redis_url: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    now = time.time_ns() // 1_000_000
    events = batch(0, 3000, now)
    with running("aggregator", service_env, tmp_path):
        await append_events(redis, keys, events, retention_ms=RETENTION)
        await drain(redis_url)
        assert await backlog(redis, keys) == (0, 0)
        assert await one_hour(redis, keys) == expected_1h(events)
        more = batch(3000, 500, now)
        await append_events(redis, keys, more + events[:100], retention_ms=RETENTION)
        await drain(redis_url)
        assert await one_hour(redis, keys) == expected_1h(events + more)


async def test_rebuild_while_events_arrive(
    redis: Redis, keys: Keys, redis_url: str, service_env: dict[str, str], tmp_path: Path
) -> None:
    now = time.time_ns() // 1_000_000
    sent = batch(0, 4000, now)
    with running("aggregator", service_env, tmp_path):
        await append_events(redis, keys, sent, retention_ms=RETENTION)

        async def keep_sending() -> None:
            for k in range(20):
                chunk = batch(10_000 + 200 * k, 200, now)
                sent.extend(chunk)
                await append_events(redis, keys, chunk + chunk[:5], retention_ms=RETENTION)
                await asyncio.sleep(0.01)

        gen, _ = await asyncio.gather(
            rebuild(redis, keys, retention_ms=RETENTION, max_future_ms=300_000), keep_sending()
        )
        assert gen == 2
        await drain(redis_url)
    assert await views.read_generation(redis, keys) == 2
    assert await one_hour(redis, keys) == expected_1h(sent)
    assert await redis.keys(keys.agg("g1") + ":*") == []
