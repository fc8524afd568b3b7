"""Waiting on an event the test cannot be told about directly (another task or process,
a Redis-side state): poll a predicate until it holds, and fail naming what was awaited."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def poll(
    check: Callable[[], bool | Awaitable[bool]],
    timeout: float,
    what: str = "the condition",
    every: float = 0.02,
) -> None:
    """Call `check` (sync or async) every `every` seconds until it is true; raise an
    AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)
