"""The web service's only door into the aggregator's read model (`liqmon.views`).

The web tier never computes windows; it calls these functions and serializes what they
return. Keeping the calls in one module means the routes, the summary cache and the
health check depend on one small surface.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from liqmon import views
from liqmon.keys import Keys


async def summary(redis: Redis, keys: Keys, *, top: int) -> dict[str, Any]:
    return await views.read_summary(redis, keys, top=top)


async def symbol(redis: Redis, keys: Keys, name: str) -> dict[str, Any]:
    return await views.read_symbol(redis, keys, name)


async def series(
    redis: Redis, keys: Keys, *, symbol: str | None, exchange: str | None, since: int, until: int
) -> list[dict[str, Any]]:
    return await views.read_series(
        redis, keys, symbol=symbol, exchange=exchange, since_ms=since, until_ms=until
    )


async def aggregator_health(redis: Redis, keys: Keys) -> dict[str, Any]:
    return await views.read_aggregator_health(redis, keys)
