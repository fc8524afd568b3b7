"""Fold a batch of events into the windows: one apply.lua call per batch.

Python does what Lua is bad at (Decimal price scaling, JSON, key names) and hands the
script flat records; the script does the dedup, the increments and the XACK atomically.
An entry is therefore either fully counted and acked, or neither: a crash, a retried
EVALSHA (redis-py retries on timeouts) or a redelivery can never count it twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

import orjson
from redis.asyncio import Redis

from liqmon.event import LiquidationEvent
from liqmon.keys import AGGREGATOR_GROUP, Keys
from liqmon.views import BUCKET_MS, PRICE_SCALE, RECENT_SIZE, price_limbs, read_generation

from . import scripts
from .layout import WINDOW_SPEC, Layout

logger = logging.getLogger(__name__)

_EXACT = Context(prec=100, rounding=ROUND_HALF_EVEN)
_SCALE = Decimal(PRICE_SCALE)

#: Per record, what apply.lua reported.
APPLIED, DUPLICATE, TOO_LATE, FUTURE = "A", "D", "T", "F"
Clock = Callable[[], int]


def price_units(price: Decimal) -> int:
    """Price in units of 1e-10 USD, rounded half-even (exact Decimal arithmetic)."""
    return int(_EXACT.multiply(price, _SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True, slots=True)
class Prepared:
    """One stream entry ready for apply.lua (or the reason it cannot be)."""

    stream_id: str
    event: LiquidationEvent
    limbs: tuple[int, int, int]
    json: str


def prepare(stream_id: str, event: LiquidationEvent) -> Prepared:
    """Raises ValueError if the price weight does not fit the exact average (absurd price)."""
    limbs = price_limbs(price_units(event.price), event.usd_cents)
    return Prepared(stream_id, event, limbs, orjson.dumps(event.to_json_dict(stream_id)).decode())


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
        self._script = scripts.load(redis, "apply")
        # (hour, exchange, symbol) whose series hashes already got their expiry from an
        # applied event: setting it again on every batch would double the series cost.
        self._expired: set[tuple[int, str, str]] = set()
        self._expired_reset = time.monotonic() + 600

    async def refresh_generation(self) -> int:
        gen = self.pinned or await read_generation(self.redis, self.keys)
        if gen != self.layout.gen:
            self.layout = Layout(self.keys, gen)
            self._expired.clear()
        return gen

    def _args(self, batch: Sequence[Prepared]) -> tuple[list[str], list[str | int]]:
        layout = self.layout
        keys = layout.apply_fixed()
        bucket_index: dict[int, int] = {}
        series_index: dict[tuple[int, str, str], int] = {}
        argv: list[str | int] = [
            self.group,
            layout.gen,
            "0" if self.pinned else "1",
            "" if self.clock is None else self.clock(),
            BUCKET_MS,
            WINDOW_SPEC,
            self.max_future_ms,
            self.retention_ms,
            RECENT_SIZE,
            len(batch),
            "1" if self.late_series else "0",
        ]
        for p in batch:
            ev = p.event
            bucket = ev.ts // BUCKET_MS
            if bucket not in bucket_index:
                bucket_index[bucket] = len(keys) + 1
                keys += layout.bucket_triple(bucket)
            skey = (ev.ts // 3_600_000, ev.exchange, ev.symbol)
            if skey not in series_index:
                series_index[skey] = len(keys) + 1
                keys += layout.series_quad(*skey)
            slot = f"{ev.exchange}|{ev.instrument}|{ev.ts // 1000}" if ev.sampled else ""
            argv += [
                p.stream_id,
                ev.id,
                ev.exchange,
                ev.symbol,
                "L" if ev.side == "long" else "S",
                ev.usd_cents,
                ev.ts,
                slot,
                *p.limbs,
                p.json,
                bucket_index[bucket],
                series_index[skey],
                "0" if skey in self._expired else "1",
            ]
        return keys, argv

    async def apply(self, batch: Sequence[Prepared]) -> str:
        """Returns one status letter per record (APPLIED, DUPLICATE, TOO_LATE, FUTURE)."""
        if not batch:
            return ""
        for _ in range(3):
            keys, argv = self._args(batch)
            reply = await self._script(keys=keys, args=argv)
            status = _str(reply[0])
            if status == "OK":
                statuses = _str(reply[1])
                self._remember_expired(batch, statuses)
                return statuses
            logger.info("generation changed to %s; re-applying the batch there", _str(reply[1]))
            await self.refresh_generation()
        raise RuntimeError("generation kept changing while applying a batch")

    def _remember_expired(self, batch: Sequence[Prepared], statuses: str) -> None:
        if len(self._expired) > 200_000 or time.monotonic() > self._expired_reset:
            # forget now and then, so a key lost behind our back (a Redis restart without
            # persistence) gets its expiry again instead of living forever
            self._expired.clear()
            self._expired_reset = time.monotonic() + 600
        for p, status in zip(batch, statuses, strict=True):
            if status == APPLIED:
                self._expired.add((p.event.ts // 3_600_000, p.event.exchange, p.event.symbol))


def _str(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
