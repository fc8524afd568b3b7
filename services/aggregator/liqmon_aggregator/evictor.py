"""Slide the windows forward: move each watermark to now - window, subtracting buckets.

Windows are evicted shortest first and each is brought fully up to date before the next,
so the longest (1d) window — the only one that deletes buckets — never deletes a bucket a
shorter window still has to subtract (evict.lua also checks). Every call is idempotent,
so several aggregators may run this at once; a lease just avoids the wasted calls.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from liqmon import scripts
from liqmon.keys import Keys
from liqmon.windows import BUCKET_MS, LARGEST_ID, NON_SUM_PREFIX, WINDOWS, window_buckets

from .apply import Clock
from .layout import Layout, bucket_numbers

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
        self._script = scripts.load(redis, __package__, "evict", include=("bucket",))

    async def now_ms(self) -> int:
        return self.clock() if self.clock is not None else await scripts.server_ms(self.redis)

    async def run_once(self, gen: int) -> int:
        """Bring every window of generation `gen` up to now; returns buckets evicted."""
        layout = Layout(self.keys, gen)
        wm_key = self.keys.agg_watermarks(gen)
        index = self.keys.agg_bucket_index(gen)
        names = ",".join(WINDOWS)
        total = 0
        for window in WINDOWS:
            span = window_buckets(window)
            delete = window == WINDOWS[-1]
            while True:
                now = await self.now_ms()
                target = now // BUCKET_MS - span
                raw = await self.redis.hget(wm_key, window)
                wm = int(raw) if raw is not None else None
                if wm is not None and wm >= target:
                    break
                listed: list[int] = []
                last = target
                if wm is not None:
                    found = await self.redis.zrangebyscore(
                        index, wm + 1, target, start=0, num=MAX_BUCKETS_PER_CALL
                    )
                    listed = bucket_numbers(found)
                    if len(listed) == MAX_BUCKETS_PER_CALL:
                        last = listed[-1]
                call_keys = [wm_key, *layout.window_keys[window], self.keys.agg_generation, index]
                call_keys.append(self.keys.agg_largest_events(gen))
                for bucket in listed:
                    call_keys += layout.bucket_keys(bucket)
                override = "" if self.clock is None else now
                evicted, after = await self._script(
                    keys=call_keys,
                    args=[
                        window, override, BUCKET_MS, span, last, ",".join(map(str, listed)),
                        "1" if delete else "0", names, gen, "0" if self.pinned else "1",
                        NON_SUM_PREFIX, LARGEST_ID,
                    ],
                )  # fmt: skip
                if int(after) == -1:
                    return total  # the generation was swapped out meanwhile
                if int(evicted) == -1:
                    continue  # a bucket appeared or went meanwhile: read the index again
                total += int(evicted)
                if int(after) <= (wm if wm is not None else target - 1):
                    break  # nothing moved (a shorter window lags): try again next tick
        if total:
            logger.debug("evicted %d buckets from generation %d", total, gen)
        return total
