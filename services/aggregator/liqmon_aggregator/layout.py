"""Key lists for one generation of derived state, in the order the Lua scripts take them.

The scripts declare every key they touch in KEYS (the documented contract, and what a
cluster would need), so Python builds the names — from liqmon.keys, with the window order
of liqmon.windows — and this module keeps those lists in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from liqmon.keys import Keys
from liqmon.windows import WINDOWS, series_scope, window_keys

#: apply.lua's fixed KEYS: 6 of its own, five per window, the largest events hash.
FIXED_KEYS = 7 + 5 * len(WINDOWS)
#: Keys per bucket: totals hash, coins string, ids hash, caps hash.
BUCKET_KEYS = 4
#: (hour, exchange, symbol) series key lists a Layout remembers before it starts over.
SERIES_CACHE_MAX = 50_000


def bucket_numbers(members: Iterable[object]) -> list[int]:
    """Members of the bucket index (str or bytes) as bucket numbers."""
    return [int(m.decode() if isinstance(m, bytes) else str(m)) for m in members]


@dataclass(frozen=True)
class Layout:
    keys: Keys
    gen: int
    window_keys: dict[str, list[str]] = field(init=False)
    _series: dict[tuple[int, str, str], list[str]] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        wk = {w: window_keys(self.keys, self.gen, w) for w in WINDOWS}
        object.__setattr__(self, "window_keys", wk)

    def fixed_keys(self) -> list[str]:
        """KEYS 1..FIXED_KEYS of apply.lua."""
        k, g = self.keys, self.gen
        out = [
            k.events,
            k.agg_generation,
            k.agg_watermarks(g),
            k.agg_stats(g),
            k.agg_late_ids(g),
            k.agg_bucket_index(g),
        ]
        for w in WINDOWS:
            out += self.window_keys[w]
        out.append(k.agg_largest_events(g))
        return out

    def bucket_keys(self, bucket: int) -> list[str]:
        """The BUCKET_KEYS keys of one bucket, in the scripts' order."""
        k, g = self.keys, self.gen
        return [
            k.agg_bucket(g, bucket),
            k.agg_bucket_coins(g, bucket),
            k.agg_bucket_ids(g, bucket),
            k.agg_bucket_caps(g, bucket),
        ]

    def series_keys(self, hour: int, exchange: str, symbol: str) -> list[str]:
        """The four per-minute series hashes an event feeds: all, exchange, coin, both.
        Remembered: a batch feeds tens of coins' series, the same ones for an hour, and
        building the names was a fifth of folding a small batch. Do not modify the list."""
        names = self._series.get((hour, exchange, symbol))
        if names is None:
            if len(self._series) >= SERIES_CACHE_MAX:
                self._series.clear()
            k, g = self.keys, self.gen
            scopes = (None, None), (None, exchange), (symbol, None), (symbol, exchange)
            names = [k.agg_series(g, series_scope(s, e), hour) for s, e in scopes]
            self._series[(hour, exchange, symbol)] = names
        return names

    @property
    def prefix(self) -> str:
        """Every key of this generation starts with this (for rebuild's cleanup)."""
        return self.keys.agg(f"g{self.gen}") + ":"
