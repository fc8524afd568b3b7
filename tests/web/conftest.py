"""Fixtures: a real uvicorn serving the web app on a free port, against the test Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.web.helpers import LiveServer, live_server, settings_for


@dataclass
class Web:
    server: LiveServer
    client: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.server.url


@contextlib.asynccontextmanager
async def web_with(redis_url: str, **overrides: Any) -> AsyncIterator[Web]:
    """The app with these settings, and an HTTP client for it."""
    async with (
        live_server(settings_for(redis_url, **overrides)) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        yield Web(server, client)


@pytest.fixture
async def web(redis_url: str, redis: Redis) -> AsyncIterator[Web]:
    """The app with default settings (summary cache off, so reads are immediate)."""
    async with web_with(redis_url, web_summary_cache_ms=0) as app:
        yield app
