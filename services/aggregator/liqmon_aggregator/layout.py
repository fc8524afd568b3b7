"""Key lists for one generation of derived state, in the order the Lua scripts expect.

The scripts declare every key they touch in KEYS (the documented contract, and what a
cluster would need), so Python builds the names — from liqmon.keys — and this module
keeps the fixed part of those lists in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from liqmon.keys import Keys
from liqmon.views import WINDOWS, window_buckets

#: "3m:36,15m:180,…": the window order every script iterates (longest last).
WINDOW_SPEC = ",".join(f"{w}:{window_buckets(w)}" for w in WINDOWS)


@dataclass(frozen=True)
class Layout:
    keys: Keys
    gen: int
    window_keys: dict[str, list[str]] = field(init=False)

    def __post_init__(self) -> None:
        k, g = self.keys, self.gen
        wk = {
            w: [
                k.agg_window(g, w),
                k.agg_window_coins(g, w),
                k.agg_rank(g, w, "L"),
                k.agg_rank(g, w, "S"),
                k.agg_largest(g, w),
            ]
            for w in WINDOWS
        }
        object.__setattr__(self, "window_keys", wk)

    def apply_fixed(self) -> list[str]:
        """KEYS 1..36 of apply.lua."""
        k, g = self.keys, self.gen
        out = [
            k.events,
            k.agg_generation,
            k.agg_watermarks(g),
            k.agg_stats(g),
            k.agg_recent(g),
            k.agg_late_ids(g),
        ]
        for w in WINDOWS:
            out += self.window_keys[w]
        return out

    def bucket_triple(self, bucket: int) -> list[str]:
        k, g = self.keys, self.gen
        return [k.agg_bucket(g, bucket), k.agg_bucket_ids(g, bucket), k.agg_bucket_caps(g, bucket)]

    def series_quad(self, hour: int, exchange: str, symbol: str) -> list[str]:
        k, g = self.keys, self.gen
        return [
            k.agg_series(g, "all", hour),
            k.agg_series(g, f"ex:{exchange}", hour),
            k.agg_series(g, f"c:{symbol}", hour),
            k.agg_series(g, f"cx:{symbol}:{exchange}", hour),
        ]

    @property
    def prefix(self) -> str:
        """Every key of this generation starts with this (for rebuild's cleanup)."""
        return self.keys.agg(f"g{self.gen}") + ":"
