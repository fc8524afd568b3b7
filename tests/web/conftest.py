"""Fixtures: a real uvicorn serving the web app on a free port, against the test Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

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


@pytest.fixture
async def web(redis_url: str, redis: Redis) -> AsyncIterator[Web]:
    """The app with default settings (summary cache off, so reads are immediate)."""
    settings = settings_for(redis_url, web_summary_cache_ms=0)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        yield Web(server, client)
