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
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from liqmon import scripts
from liqmon.keys import Keys
from liqmon.windows import NON_SUM_PREFIX, generation_from

from .apply import Clock
from .layout import Layout, bucket_numbers

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
        self._script = scripts.load(redis, __package__, "selfcheck", include=("bucket",))

    async def run_once(self, gen: int, windows: tuple[str, ...] = CHECKED_WINDOWS) -> Drift:
        layout = Layout(self.keys, gen)
        wm_key = self.keys.agg_watermarks(gen)
        cents = other = 0
        index = self.keys.agg_bucket_index(gen)
        for window in windows:
            for _ in range(5):  # the bucket list can go stale between read and script
                raw = await self.redis.hget(wm_key, window)
                if raw is None:
                    break
                above = bucket_numbers([raw])[0] + 1
                listed = bucket_numbers(await self.redis.zrangebyscore(index, above, "+inf"))
                bucket_keys = []
                for b in listed:
                    bucket_keys += layout.bucket_keys(b)[:2]  # totals hash, coin records
                try:
                    d_cents, d_other, _ = await self._script(
                        keys=[wm_key, *layout.window_keys[window][:2], index, *bucket_keys],
                        args=[window, ",".join(map(str, listed)), NON_SUM_PREFIX],
                    )
                except ResponseError as exc:
                    if "stale bucket list" in str(exc):
                        continue
                    raise
                cents += int(d_cents)
                other += int(d_other)
                break
        drift = Drift(cents, other)
        await self._report(gen, drift)
        if not drift.ok:
            logger.error("self-check drift: %d cents, %d other units", drift.cents, drift.other)
        return drift

    async def _report(self, gen: int, drift: Drift) -> None:
        """Publish the drift in `gen`'s stats hash only while `gen` is live, atomically: a
        rebuild that swapped the pointer meanwhile deletes the old generation's keys, and a
        plain check-then-write could recreate its stats hash after that delete (WATCH on the
        pointer makes the write fail and re-run instead)."""
        checked_ms = await scripts.server_ms(self.redis)

        async def write_if_live(pipe: Pipeline) -> None:
            live = await pipe.get(self.keys.agg_generation)
            pipe.multi()  # type: ignore[no-untyped-call]
            if generation_from(live) == gen:
                pipe.hset(
                    self.keys.agg_stats(gen),
                    mapping={
                        "drift_cents": drift.cents,
                        "drift_other": drift.other,
                        "checked_ms": checked_ms,
                    },
                )

        await self.redis.transaction(write_if_live, self.keys.agg_generation)
