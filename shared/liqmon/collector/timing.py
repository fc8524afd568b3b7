"""Small timing helpers shared by the collector runtime: waits that end early on stop, and
the reconnect backoff (capped exponential with jitter, reset after a good subscribe)."""

from __future__ import annotations

import asyncio
import contextlib
import random


async def wait_any(*events: asyncio.Event, timeout: float | None) -> None:
    """Return when any event is set or `timeout` seconds passed."""
    if any(event.is_set() for event in events):
        return
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        for waiter in waiters:
            with contextlib.suppress(asyncio.CancelledError):
                await waiter


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True if `stop` was set meanwhile."""
    await wait_any(stop, timeout=max(seconds, 0.0))
    return stop.is_set()


class Backoff:
    """Delays `initial·2ⁿ` capped at `cap`, each drawn uniformly from [½d, d] (jitter) so a
    fleet of collectors does not reconnect in lockstep after an exchange-wide outage."""

    def __init__(self, initial: float = 0.5, cap: float = 30.0) -> None:
        self.initial = initial
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.initial * (2 ** min(self.failures, 30)))
        self.failures += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.failures = 0
