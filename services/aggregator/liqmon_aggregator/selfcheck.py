"""Periodic self-check: recount the short windows from their buckets and report drift.

apply.lua and evict.lua keep every window equal to the sum of its buckets above the
watermark; this checks that invariant in one read-only script per window (a consistent
snapshot, so a concurrent apply cannot cause a false alarm). Drift is published in the
generation's stats hash (`drift_cents`, `drift_other`, `checked_ms`); drift must stay 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon.views import BUCKET_MS, read_generation

from . import scripts
from .apply import Clock
from .layout import Layout

logger = logging.getLogger(__name__)

CHECKED_WINDOWS = ("3m", "15m", "1h")


@dataclass(frozen=True)
class Drift:
    cents: int
    other: int

    @property
    def ok(self) -> bool:
        return self.cents == 0 and self.other == 0


class SelfCheck:
    def __init__(
        self, redis: Redis, keys: Keys, *, max_future_ms: int, clock: Clock | None = None
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.max_future_ms = max_future_ms
        self.clock = clock
        self._script = scripts.load(redis, "selfcheck")

    async def run_once(self, gen: int, windows: tuple[str, ...] = CHECKED_WINDOWS) -> Drift:
        layout = Layout(self.keys, gen)
        wm_key = self.keys.agg_watermarks(gen)
        cents = other = 0
        for window in windows:
            raw = await self.redis.hget(wm_key, window)
            if raw is None:
                continue
            now = self.clock() if self.clock else await scripts.server_ms(self.redis)
            first = int(raw) + 1
            last = (now + self.max_future_ms) // BUCKET_MS + 1
            bucket_keys = [layout.keys.agg_bucket(gen, b) for b in range(first, last + 1)]
            d_cents, d_other, _ = await self._script(
                keys=[wm_key, *layout.window_keys[window][:2], *bucket_keys],
                args=[window, first, len(bucket_keys)],
            )
            cents += int(d_cents)
            other += int(d_other)
        drift = Drift(cents, other)
        if gen != await read_generation(self.redis, self.keys):
            return drift  # swapped by a rebuild meanwhile: do not recreate its keys
        await self.redis.hset(
            self.keys.agg_stats(gen),
            mapping={
                "drift_cents": drift.cents,
                "drift_other": drift.other,
                "checked_ms": await scripts.server_ms(self.redis),
            },
        )
        if not drift.ok:
            logger.error("self-check drift: %d cents, %d other units", drift.cents, drift.other)
        return drift
