"""A collector that is down and not restarted marks every window incomplete as soon as its
status hash expires, not only once a restart records the gap (the outage is open now, so
it overlaps every window); a collector back up clears it. Through GET /api/summary, with
the collectors' real status code writing the hash and the markers."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from liqmon.collector.status import CollectorStatus
from liqmon.keys import Keys
from tests.web.conftest import Web
from tests.web.helpers import now_ms

DAY_MS = 86_400_000


async def incomplete(web: Web) -> list[bool]:
    windows = (await web.client.get("/api/summary")).json()["windows"]
    return [w["incomplete"] for w in windows.values()]


async def run_collector(redis: Redis, keys: Keys, exchange: str) -> CollectorStatus:
    """One status publish of a connected collector (the real code path), collecting for
    two days (first start moved back, as the fresh-install rule would flag the windows)."""
    status = CollectorStatus(exchange, keys, retention_ms=10**9)
    status.add_feed(f"{exchange}-feed", "ws://x")
    status.connected(f"{exchange}-feed")
    assert await status.publish(redis)
    await redis.set(keys.collector_first_start(exchange), now_ms() - 2 * DAY_MS)
    return status


async def expire(redis: Redis, key: str) -> None:
    """Let the status hash's TTL run out (1 ms), and wait until Redis has dropped it."""
    await redis.pexpire(key, 1)
    deadline = time.monotonic() + 5
    while await redis.exists(key):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def test_an_expired_status_marks_every_window_until_the_collector_is_back(
    web: Web, redis: Redis, keys: Keys
) -> None:
    await run_collector(redis, keys, "binance")
    await run_collector(redis, keys, "okx")
    assert await incomplete(web) == [False] * 6

    await expire(redis, keys.collector_status("okx"))  # okx killed, not restarted
    assert await incomplete(web) == [True] * 6

    await run_collector(redis, keys, "okx")  # back: its status hash exists again
    assert await incomplete(web) == [False] * 6


async def test_an_exchange_that_never_ran_is_not_an_outage(
    web: Web, redis: Redis, keys: Keys
) -> None:
    await run_collector(redis, keys, "binance")  # okx and bybit have never run here
    assert await incomplete(web) == [False] * 6


async def test_a_venue_switched_off_for_good_is_not_an_outage(
    web: Web, redis: Redis, keys: Keys
) -> None:
    # the test web expects binance and okx (tests.web.helpers.settings_for): bybit ran once,
    # then the user dropped it from LIQMON_VENUES; its stale markers must not flag windows
    await run_collector(redis, keys, "binance")
    await run_collector(redis, keys, "okx")
    await run_collector(redis, keys, "bybit")
    await expire(redis, keys.collector_status("bybit"))
    assert await incomplete(web) == [False] * 6
    await expire(redis, keys.collector_status("okx"))  # an expected venue down: flagged
    assert await incomplete(web) == [True] * 6
