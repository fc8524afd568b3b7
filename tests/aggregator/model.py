"""Brute-force model of the aggregator: keeps every applied event and recomputes each
window from scratch. It mirrors the documented semantics (see apply.lua): buckets of
BUCKET_MS, watermark per window, too late = bucket <= wm[1d], dedup by id, far-future
events refused — and nothing of the implementation (no running totals, no eviction).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon.views import BUCKET_MS, WINDOWS, avg_price, window_buckets
from liqmon.windows import weight_limbs
from liqmon_aggregator.apply import price_units


@dataclass
class Model:
    max_future_ms: int
    wm: dict[str, int] = field(default_factory=dict)
    applied: list[LiquidationEvent] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def _init(self, now: int) -> None:
        for w in WINDOWS:
            self.wm.setdefault(w, now // BUCKET_MS - window_buckets(w))

    def evict(self, now: int) -> None:
        self._init(now)
        for w in WINDOWS:
            self.wm[w] = max(self.wm[w], now // BUCKET_MS - window_buckets(w))

    def apply(self, now: int, event: LiquidationEvent) -> str:
        self._init(now)
        bucket = event.ts // BUCKET_MS
        if event.ts > now + self.max_future_ms:
            return "F"
        if bucket <= self.wm[WINDOWS[-1]]:
            return "T"
        if event.id in self.seen:
            return "D"
        self.seen.add(event.id)
        self.applied.append(event)
        return "A"

    def window(self, w: str) -> list[LiquidationEvent]:
        return [e for e in self.applied if e.ts // BUCKET_MS > self.wm[w]]

    def series(self, scope: str) -> dict[int, dict[str, int]]:
        """Per-minute series as stored: hour -> {"<minute>:<L|S>": cents}, all applied
        events (windows do not matter: the series keep the whole retention period)."""
        out: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for e in self.applied:
            scopes = ("all", f"ex:{e.exchange}", f"c:{e.symbol}", f"cx:{e.symbol}:{e.exchange}")
            if scope not in scopes:
                continue
            s = "L" if e.side == "long" else "S"
            out[e.ts // 3_600_000][f"{e.ts // 60_000 % 60}:{s}"] += e.usd_cents
        return {h: dict(v) for h, v in out.items()}

    def expected(self, w: str) -> dict[str, Any]:
        events = self.window(w)
        totals: Counter[str] = Counter()
        coins: Counter[str] = Counter()
        weights: dict[str, int] = defaultdict(int)
        slots = set()
        for e in events:
            s = "L" if e.side == "long" else "S"
            totals[s] += e.usd_cents
            totals[s + "n"] += 1
            totals[f"{e.exchange}:{s}"] += e.usd_cents
            totals[f"{e.exchange}:{s}n"] += 1
            coins[f"{e.symbol}:{s}"] += e.usd_cents
            coins[f"{e.symbol}:{s}n"] += 1
            weights[f"{e.symbol}:{s}"] += price_units(e.price) * e.usd_cents
            if e.sampled:
                slots.add((e.exchange, e.instrument, e.ts // 1000))
        if slots:
            totals["cap"] = len(slots)
        largest = max(events, key=lambda e: (e.usd_cents, e.id), default=None)
        avg = {}
        for key, weight in weights.items():
            cents = coins[key]
            limbs = weight_limbs(weight)  # a sum of weights may pass one event's bound
            avg[key] = avg_price(limbs, cents)
        return {
            "totals": {k: v for k, v in totals.items() if v},
            "coins": {k: v for k, v in coins.items() if v},
            "largest": (largest.id, largest.usd_cents) if largest else None,
            "avg": avg,
        }


async def assert_window_stored(redis: Any, keys: Keys, model: Model, w: str) -> dict[str, Any]:
    """Generation 1's totals and per-coin hashes of window `w` are what `model` expects (the
    coins' price-weight fields aside); returns the expectation for further checks."""
    want = model.expected(w)
    # not a test module, so pytest does not rewrite these asserts: the messages show the values
    totals = {k: int(v) for k, v in (await redis.hgetall(keys.agg_window(1, w))).items()}
    assert totals == want["totals"], (w, totals, want["totals"])
    raw = await redis.hgetall(keys.agg_window_coins(1, w))
    coins = {k: int(v) for k, v in raw.items() if k[-2:-1] != "p"}
    assert coins == want["coins"], (w, coins, want["coins"])
    return want
