"""The aggregator's Lua scripts, loaded from the .lua files beside this module.

redis-py's `register_script` runs EVALSHA and reloads the script on NOSCRIPT, so a Redis
restart (which empties the script cache) costs one extra round trip, not an error.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


@cache
def source(name: str) -> str:
    return resources.files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")


def load(redis: Redis, name: str) -> AsyncScript:
    return redis.register_script(source(name))


async def server_ms(redis: Redis) -> int:
    """Redis's clock in ms: every aggregator process agrees on it."""
    sec, usec = await redis.time()
    return int(sec) * 1000 + int(usec) // 1000
