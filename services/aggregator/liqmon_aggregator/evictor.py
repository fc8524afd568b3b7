"""Slide the windows forward: move each watermark to now - window, subtracting buckets.

Windows are evicted shortest first and each is brought fully up to date before the next,
so the longest (1d) window — the only one that deletes buckets — never deletes a bucket a
shorter window still has to subtract (evict.lua also checks). Every call is idempotent,
so several aggregators may run this at once; a lease just avoids the wasted calls.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon.views import BUCKET_MS, WINDOWS, window_buckets

from . import scripts
from .apply import Clock
from .layout import Layout

logger = logging.getLogger(__name__)

#: Buckets per evict.lua call (keeps each script run short: Redis waits while it runs).
MAX_BUCKETS_PER_CALL = 500


class Evictor:
    def __init__(
        self, redis: Redis, keys: Keys, *, clock: Clock | None = None, pinned: bool = False
    ) -> None:
        """`pinned`: evict the given generation even if it is not (yet) the live one
        (rebuild); otherwise a generation that is no longer live is left alone."""
        self.pinned = pinned
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self._script = scripts.load(redis, "evict")

    async def now_ms(self) -> int:
        return self.clock() if self.clock is not None else await scripts.server_ms(self.redis)

    async def run_once(self, gen: int) -> int:
        """Bring every window of generation `gen` up to now; returns buckets evicted."""
        layout = Layout(self.keys, gen)
        wm_key = self.keys.agg_watermarks(gen)
        names = ",".join(WINDOWS)
        total = 0
        for window in WINDOWS:
            span = window_buckets(window)
            delete = "1" if window == WINDOWS[-1] else "0"
            while True:
                now = await self.now_ms()
                target = now // BUCKET_MS - span
                raw = await self.redis.hget(wm_key, window)
                wm = int(raw) if raw is not None else None
                if wm is not None and wm >= target:
                    break
                first = (wm + 1) if wm is not None else target
                count = 0 if wm is None else min(target - wm, MAX_BUCKETS_PER_CALL)
                call_keys = [wm_key, *layout.window_keys[window], self.keys.agg_generation]
                for bucket in range(first, first + count):
                    call_keys += layout.bucket_triple(bucket)
                override = "" if self.clock is None else now
                evicted, after = await self._script(
                    keys=call_keys,
                    args=[
                        window, override, BUCKET_MS, span, first, count, delete, names,
                        gen, "0" if self.pinned else "1",
                    ],
                )  # fmt: skip
                if int(after) == -1:
                    return total  # the generation was swapped out meanwhile
                total += int(evicted)
                if int(after) <= (wm if wm is not None else target - 1):
                    break  # nothing moved (a shorter window lags): try again next tick
        if total:
            logger.debug("evicted %d buckets from generation %d", total, gen)
        return total
