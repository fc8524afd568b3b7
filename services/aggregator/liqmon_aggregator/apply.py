"""Apply batches to the windows: fold in Python, verify and store in one apply.lua call.

`fold` gives every event a verdict from what Redis reported last and sums the applied
ones into per-key deltas; apply.lua checks the verdicts and stores the deltas, the dedup
ids and the XACK atomically. An entry is therefore either fully counted and acked, or
neither: a crash, a retried EVALSHA (redis-py retries on timeouts: the second run finds
its ids and reports them, so the batch is folded again as duplicates) or a redelivery can
never count it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from redis.asyncio import Redis

from liqmon import scripts
from liqmon.keys import AGGREGATOR_GROUP, Keys
from liqmon.windows import price_units, read_generation

from .fold import APPLIED, DUPLICATE, FUTURE, TOO_LATE, Plan, Verdicts, fold
from .layout import Layout
from .prepared import Prepared, prepare, prepare_fields

logger = logging.getLogger(__name__)

__all__ = [
    "APPLIED",
    "DUPLICATE",
    "FUTURE",
    "TOO_LATE",
    "Applier",
    "Clock",
    "Plan",
    "Prepared",
    "prepare",
    "prepare_fields",
    "price_units",
]

Clock = Callable[[], int]
#: Plans refused in a row before giving up (each refusal refreshes what fold knows).
MAX_REPLANS = 10


class Applier:
    """Applies batches to the live generation (or to a given one, for rebuild)."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        retention_ms: int,
        max_future_ms: int,
        group: str = AGGREGATOR_GROUP,
        clock: Clock | None = None,
        generation: int | None = None,
        late_series: bool = False,
    ) -> None:
        """`group=""` applies without XACK; `generation` pins a generation (rebuild) instead
        of following the live pointer; `clock` is for tests only (production: Redis TIME)."""
        self.redis = redis
        self.keys = keys
        self.retention_ms = retention_ms
        self.max_future_ms = max_future_ms
        self.group = group
        self.clock = clock
        self.pinned = generation
        self.late_series = late_series
        self.layout = Layout(keys, generation or 1)
        self._script = scripts.load(redis, __package__, "apply")
        self._known = Verdicts()
        self._known_at = time.monotonic()
        # (hour, exchange, symbol) whose series hashes already got their expiry from an
        # applied event: setting it again on every batch would double the series cost.
        self._expired: set[tuple[int, str, str]] = set()
        self._expired_reset = time.monotonic() + 600
        # per bucket, the largest event an applied plan offered (`fold`'s stored_largest)
        self._stored_largest: dict[int, tuple[int, str]] = {}

    async def refresh_generation(self) -> int:
        gen = self.pinned or await read_generation(self.redis, self.keys)
        if gen != self.layout.gen:
            self.layout = Layout(self.keys, gen)
            self._expired.clear()
            self._stored_largest.clear()
            self._known = Verdicts()
        return gen

    def _estimated_now(self) -> int | None:
        """Redis's clock as of the last reply plus the time since (for the future verdict;
        apply.lua checks it)."""
        if self._known.now_ms is None:
            return None
        return self._known.now_ms + int((time.monotonic() - self._known_at) * 1000)

    def fold(self, batch: Sequence[Prepared]) -> Plan:
        """The CPU half: fold the batch with what Redis reported last (no round trip, so a
        caller can run it while the previous batch's apply.lua runs)."""
        known = self._known
        clock = self.clock() if self.clock is not None else None
        known.now_ms = clock if clock is not None else self._estimated_now()
        return fold(
            batch,
            self.layout,
            known,
            group=self.group,
            check_generation=not self.pinned,
            clock_ms=clock,
            max_future_ms=self.max_future_ms,
            retention_ms=self.retention_ms,
            late_series=self.late_series,
            expired=self._expired,
            stored_largest=self._stored_largest,
        )

    async def apply(self, batch: Sequence[Prepared], plan: Plan | None = None) -> str:
        """Returns one verdict letter per record (APPLIED, DUPLICATE, TOO_LATE, FUTURE).
        `plan`: this batch already folded (`fold`); it is folded again if it went stale."""
        if not batch:
            return ""
        self._known.applied = set()
        for _ in range(MAX_REPLANS):
            if plan is None or plan.layout_gen != self.layout.gen:
                plan = self.fold(batch)
            reply = await self._script(keys=plan.keys, args=plan.argv)
            status = _str(reply[0])
            if status == "STALE":
                logger.info("generation changed to %s; applying the batch there", _str(reply[1]))
                await self.refresh_generation()
                plan = None
                continue
            self._known.update(int(reply[1]), _str(reply[2]))
            self._known_at = time.monotonic()
            if status == "OK":
                self._remember(plan)
                return plan.verdicts
            self._learn_applied(plan.checked, reply[3])
            plan = None
        raise RuntimeError(f"apply.lua refused {MAX_REPLANS} plans in a row")

    def _learn_applied(
        self, checked: list[tuple[int, list[bytes]]], presence: list[object]
    ) -> None:
        """From a refused plan: which of the checked ids each bucket already holds."""
        self._known.applied = {
            (n, key)
            for (n, ids), flags in zip(checked, presence, strict=True)
            for key, flag in zip(ids, _str(flags), strict=False)
            if flag == "1"
        }

    def _remember(self, plan: Plan) -> None:
        """What an applied plan stored that later plans need not repeat."""
        if (
            len(self._expired) > 200_000
            or len(self._stored_largest) > 200_000
            or time.monotonic() > self._expired_reset
        ):
            # forget now and then, so a key lost behind our back (a Redis restart without
            # persistence) gets its expiry and its largest event again (and the buckets
            # that left the windows are forgotten)
            self._expired.clear()
            self._stored_largest.clear()
            self._expired_reset = time.monotonic() + 600
        self._expired.update(plan.counted_series)
        stored = self._stored_largest
        for n, offered in plan.offered_largest.items():
            # a plan folded while the previous one was applied may offer less than it did
            if n not in stored or offered > stored[n]:
                stored[n] = offered


def _str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
