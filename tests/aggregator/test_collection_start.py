"""A window reaching before data collection began is `incomplete` (views.read_summary):
the first-start marker a collector sets on its first connection, read over real Redis."""

from __future__ import annotations

from redis.asyncio import Redis

from liqmon import views
from liqmon.collector.status import CollectorStatus
from liqmon.keys import Keys
from tests.aggregator.test_views import now_ms

DAY = views.WINDOW_MS["1d"]


async def _incomplete(redis: Redis, keys: Keys) -> list[bool]:
    windows = (await views.read_summary(redis, keys))["windows"]
    return [windows[w]["incomplete"] for w in views.WINDOWS]


async def _first_connect(redis: Redis, keys: Keys, exchange: str) -> int:
    """A collector's first connection ever, through the real status code path."""
    status = CollectorStatus(exchange, keys, retention_ms=10**9)
    status.add_feed(f"{exchange}-feed", "ws://x")
    status.connected(f"{exchange}-feed")
    assert await status.publish(redis)
    return status.first_connect


async def test_fresh_system_windows_are_incomplete_until_a_day_has_passed(
    redis: Redis, keys: Keys
) -> None:
    assert await _incomplete(redis, keys) == [False] * 6  # nothing ever ran: no claim either way
    first = await _first_connect(redis, keys, "binance")
    assert abs(first - now_ms()) < 5_000
    assert await _incomplete(redis, keys) == [True] * 6  # one minute of data is not a day

    # the clock: the same first start, seen 1 day + 10 s later (set back instead of waiting)
    await redis.set(keys.collector_first_start("binance"), now_ms() - DAY - 10_000)
    assert await _incomplete(redis, keys) == [False] * 6

    # a 3-hour-old first start: the windows up to 1h are complete, 4h and longer are not
    await redis.set(keys.collector_first_start("binance"), now_ms() - 3 * 3_600_000)
    assert await _incomplete(redis, keys) == [False, False, False, True, True, True]


async def test_an_exchange_added_later_counts_from_its_own_first_start(
    redis: Redis, keys: Keys
) -> None:
    await _first_connect(redis, keys, "binance")  # running (its status hash exists) ...
    await redis.set(keys.collector_first_start("binance"), now_ms() - 2 * DAY)  # ... for 2 days
    assert await _incomplete(redis, keys) == [False] * 6  # okx and bybit never ran: ignored
    await _first_connect(redis, keys, "okx")  # okx collected from now on: its 1d lacks okx
    assert await _incomplete(redis, keys) == [True] * 6
    # a second first connection does not move the first start (SET NX)
    await redis.set(keys.collector_first_start("okx"), now_ms() - DAY - 10_000)
    await _first_connect(redis, keys, "okx")
    assert await _incomplete(redis, keys) == [False] * 6
