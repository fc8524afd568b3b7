"""The alerter's Lua scripts (ingest.lua, delivery.lua), loaded from beside this module.

redis-py's `register_script` runs EVALSHA and reloads the script on NOSCRIPT, so a Redis
restart costs one extra round trip, not an error.
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
