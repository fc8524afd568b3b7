"""The one way liqmon loads a Lua script, and Redis's clock in milliseconds.

Every script lives in a `.lua` file beside the module that calls it and is loaded with
`load(redis, __package__, "name")`. redis-py's `register_script` runs EVALSHA and reloads
the script on NOSCRIPT, so a Redis restart (which empties the script cache) costs one
extra round trip, not an error.

Each script source gets `PRELUDE` in front of it, so the conversion of Redis `TIME` to
milliseconds is written once for Lua (`server_ms()`) as it is for Python (`server_ms`).
A script that starts with a `#!lua` shebang keeps it as its first line.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

PRELUDE: Final = """local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""


@cache
def source(package: str, name: str, include: tuple[str, ...] = ()) -> str:
    """`<name>.lua` of `package`, after the prelude and the `include`d `.lua` files of the
    same package (shared functions), behind a `#!lua` shebang line if it has one."""
    files = resources.files(package)
    text = files.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    shared = "".join(files.joinpath(f"{i}.lua").read_text(encoding="utf-8") for i in include)
    if text.startswith("#!lua"):
        shebang, _, body = text.partition("\n")
        return f"{shebang}\n{PRELUDE}{shared}{body}"
    return PRELUDE + shared + text


def load(
    redis: Redis, package: str | None, name: str, include: tuple[str, ...] = ()
) -> AsyncScript:
    """Register `<name>.lua` of `package` (pass the caller's `__package__`) on `redis`,
    with the `include`d files of the package in front of it."""
    if not package:
        raise ValueError("load() needs the package that holds the script")
    return redis.register_script(source(package, name, include))


async def server_ms(redis: Redis) -> int:
    """Redis's clock in ms: every process agrees on it (never a host clock)."""
    sec, usec = await redis.time()
    return int(sec) * 1000 + int(usec) // 1000
