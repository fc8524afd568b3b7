"""The summary follows the windows as they change, not on a clock: /api/summary and the
stream's `summary` event reflect an applied event without waiting for the cache age or a
once-a-second tick, and an unchanged summary is read from Redis once, however many ask."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon_aggregator.testing import drain
from liqmon_web import summary_feed
from tests.web.conftest import Web, web_with
from tests.web.helpers import make_event, sse, xadd_now


def count_1h(summary: dict[str, object]) -> int:
    w = summary["windows"]["1h"]  # type: ignore[index]
    return int(w["long_count"]) + int(w["short_count"])


@pytest.fixture
async def slow_cache(redis_url: str, redis: Redis) -> AsyncIterator[Web]:
    """A 10 s cache: the old design served the same summary for up to 10 s."""
    async with web_with(redis_url, web_summary_cache_ms=10_000) as app:
        yield app


async def until_count(web: Web, n: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while count_1h((await web.client.get("/api/summary")).json()) != n:
        assert time.monotonic() < deadline, "the summary never showed the applied events"
        await asyncio.sleep(0.01)


async def test_rest_summary_reflects_an_applied_event_before_the_cache_expires(
    slow_cache: Web, redis: Redis, keys: Keys, redis_url: str
) -> None:
    await xadd_now(redis, keys, [make_event(salt=1)])
    await drain(redis_url)
    await until_count(slow_cache, 1)
    reads = slow_cache.server.app.state.summary_cache.reads
    bodies = {(await slow_cache.client.get("/api/summary")).content for _ in range(20)}
    assert len(bodies) == 1  # unchanged: the same bytes ...
    assert slow_cache.server.app.state.summary_cache.reads == reads  # ... and no new read

    await xadd_now(redis, keys, [make_event(salt=2)])
    await drain(redis_url)
    await until_count(slow_cache, 2, timeout=5.0)  # the old cache: 10 s of the old figure


async def test_stream_pushes_a_change_without_the_once_a_second_refresh(
    web: Web, redis: Redis, keys: Keys, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summary_feed, "REFRESH_S", 3600.0)  # only a change can push now
    async with sse(web.client, "/api/stream") as reader:
        first = (await reader.until("summary", timeout=5)).json()
        assert count_1h(first) == 0
        await xadd_now(redis, keys, [make_event(salt=3)])
        await drain(redis_url)
        pushed = (await reader.until("summary", timeout=5)).json()
    assert count_1h(pushed) == 1
