"""The read model: what the web service shows, read from the aggregator's keys.

The web service only reads Redis and never computes windows itself; these functions are
its whole view of the aggregator. Each is a fixed, small number of round trips whatever
the windows hold (the summary is one read-only Lua script, so it is also one consistent
snapshot: totals, rankings and the largest event all come from the same instant).

What the keys hold (buckets, windows, field names, the price weight) is `liqmon.windows`,
shared with the writer; money is integer cents in Redis, returned here as floats with 2
decimals (cents / 100); the average price keeps at least 6 significant digits for every
price >= 1e-13 USD and is returned to 12 (liqmon.windows.avg_price).

A window is `incomplete` when it overlaps a collector gap (closed, or open in a status hash)
or starts before the latest `collector_first_start` among the exchanges that have one: an
exchange collected for an hour has no 1d figure yet; one never run is not expected. An
exchange that ran (it has a first start) but has no status hash is down and not restarted
(the hash expired): its outage is open now, so every window is incomplete until a collector
is back; the gap itself is recorded when one starts (from the `collector_alive` marker).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson
from redis.asyncio import Redis

from liqmon import scripts
from liqmon.event import PRODUCTS
from liqmon.keys import AGGREGATOR_GROUP, Keys
from liqmon.windows import (
    BUCKET_MS,
    CAP,
    LIMBS,
    SERIES_MAX_MINUTES,
    SIDES,
    WINDOW_MS,
    WINDOWS,
    avg_price,
    coin_fields,
    price_limbs,
    read_generation,
    series_scope,
    total_fields,
    window_buckets,
    window_keys,
)

#: The read API re-exports the layout names its callers use.
__all__ = [
    "BUCKET_MS",
    "EXCHANGES",
    "WINDOWS",
    "WINDOW_MS",
    "avg_price",
    "price_limbs",
    "read_aggregator_health",
    "read_generation",
    "read_series",
    "read_summary",
    "read_symbol",
    "series_scope",
    "window_buckets",
]

EXCHANGES: Final[tuple[str, ...]] = tuple(PRODUCTS)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def _flat_ints(flat: list[Any]) -> dict[str, int]:
    return {_s(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}


def _ranking(flat: list[Any], counts: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "symbol": _s(flat[2 * j]),
            "usd": _money(int(float(flat[2 * j + 1]))),
            "count": int(counts[j] or 0),
        }
        for j in range(len(flat) // 2)
    ]


def _largest(raw: Any) -> dict[str, Any] | None:
    if not raw:
        return None
    event: dict[str, Any] = orjson.loads(_s(raw))
    return event


def _side_totals(totals: dict[str, int], exchange: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, side in SIDES:
        cents, count = total_fields(side, exchange)
        out[f"{label}_usd"] = _money(totals.get(cents, 0))
        out[f"{label}_count"] = totals.get(count, 0)
    return {k: out[k] for k in ("long_usd", "short_usd", "long_count", "short_count")}


async def read_summary(
    redis: Redis,
    keys: Keys,
    *,
    top: int = 10,
    collected: Sequence[str] = EXCHANGES,
    generation: int | None = None,
) -> dict[str, Any]:
    """All windows: totals, per-exchange split, top coins, largest event, flags.

    `collected`: the exchanges whose collection the windows' completeness rests on (the
    web passes the venues it expects; a venue switched off for good then stops marking
    every window partial). Totals and the per-exchange split always cover every venue.
    `generation`: the live generation if the caller has just read it (one round trip
    less); otherwise it is read here."""
    gen = generation if generation is not None else await read_generation(redis, keys)
    script_keys: list[str] = []
    for w in WINDOWS:
        script_keys += window_keys(keys, gen, w)
    for ex in collected:
        script_keys += [
            keys.collector_gaps(ex),
            keys.collector_status(ex),
            keys.collector_first_start(ex),
        ]
    script_keys.append(keys.agg_largest_events(gen))
    script = scripts.load(redis, __package__, "summary")
    count_suffix = total_fields("L")[1][len("L") :]  # "n": `<sym>:Ln` is the count of `<sym>:L`
    reply = await script(
        keys=script_keys, args=[max(1, top), len(WINDOWS), len(collected), count_suffix]
    )
    now = int(reply[0])
    gap_end = 0
    open_gap = False
    # A window reaching before the latest first start of the exchanges that ever ran lacks
    # that exchange's data; exchanges never run (no first-start key) do not count.
    collected_from = 0
    for ex_reply in reply[1 + len(WINDOWS) :]:
        if ex_reply[0]:
            gap_end = max(gap_end, int(float(ex_reply[0])))
        if ex_reply[1] and _s(ex_reply[1]).strip():
            open_gap = True
        if ex_reply[2] and _s(ex_reply[2]).isdigit():
            collected_from = max(collected_from, int(_s(ex_reply[2])))
            if not int(ex_reply[3]):  # ran, and its status expired: down, not restarted
                open_gap = True
    windows: dict[str, Any] = {}
    now_bucket = now // BUCKET_MS
    for w, (flat, rl, cl, rs, cs, lg) in zip(WINDOWS, reply[1 : 1 + len(WINDOWS)], strict=True):
        totals = _flat_ints(flat)
        start = (now_bucket - window_buckets(w) + 1) * BUCKET_MS
        windows[w] = {
            **_side_totals(totals, None),
            "by_exchange": {ex: _side_totals(totals, ex) for ex in EXCHANGES},
            "top_long": _ranking(rl, cl)[:top],
            "top_short": _ranking(rs, cs)[:top],
            "largest": _largest(lg),
            "incomplete": open_gap or gap_end > start or start < collected_from,
            "capped_seconds": totals.get(CAP, 0),
        }
    return {"as_of": now, "windows": windows}


async def read_symbol(redis: Redis, keys: Keys, symbol: str) -> dict[str, Any]:
    """One coin in every window: totals, counts, USD-weighted average price per side."""
    gen = await read_generation(redis, keys)
    fields = [f for _, side in SIDES for f in coin_fields(symbol, side)]
    width = 2 + LIMBS
    pipe = redis.pipeline(transaction=False)
    for w in WINDOWS:
        pipe.hmget(keys.agg_window_coins(gen, w), fields)
    replies = await pipe.execute()
    windows: dict[str, Any] = {}
    for w, values in zip(WINDOWS, replies, strict=True):
        nums = [int(v) if v is not None else 0 for v in values]
        out: dict[str, Any] = {}
        for i, (side, _) in enumerate(SIDES):
            cents, count, *limbs = nums[width * i : width * (i + 1)]
            out[f"{side}_usd"] = _money(cents)
            out[f"{side}_count"] = count
            out[f"{side}_avg_price"] = avg_price(limbs, cents)
        windows[w] = {
            k: out[k]
            for k in (
                "long_usd",
                "short_usd",
                "long_count",
                "short_count",
                "long_avg_price",
                "short_avg_price",
            )
        }
    return {"symbol": symbol, "windows": windows}


async def read_series(
    redis: Redis,
    keys: Keys,
    *,
    symbol: str | None,
    exchange: str | None,
    since_ms: int,
    until_ms: int,
) -> list[dict[str, Any]]:
    """Per-minute long/short USD, ascending, zero-filled; minutes t with
    floor(since) <= t <= until. At most `SERIES_MAX_MINUTES` minutes (the latest ones)."""
    if until_ms < since_ms:
        return []
    first = max(since_ms // 60_000, until_ms // 60_000 - SERIES_MAX_MINUTES + 1)
    last = until_ms // 60_000
    gen = await read_generation(redis, keys)
    scope = series_scope(symbol, exchange)
    hours = list(range(first // 60, last // 60 + 1))
    pipe = redis.pipeline(transaction=False)
    for hour in hours:
        pipe.hgetall(keys.agg_series(gen, scope, hour))
    replies = await pipe.execute()
    cells: dict[tuple[int, str], int] = {}
    for hour, flat in zip(hours, replies, strict=True):
        for field, value in flat.items():
            minute, _, side = _s(field).partition(":")
            cells[(hour * 60 + int(minute), side)] = int(value)
    return [
        {
            "t": m * 60_000,
            "long_usd": _money(cells.get((m, "L"), 0)),
            "short_usd": _money(cells.get((m, "S"), 0)),
        }
        for m in range(first, last + 1)
    ]


async def read_aggregator_health(redis: Redis, keys: Keys) -> dict[str, Any]:
    """Consumer-group lag/pending, consumers, counters and the last self-check drift."""
    gen = await read_generation(redis, keys)
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(keys.agg_stats(gen))
    pipe.hgetall(keys.agg_counters)
    pipe.exists(keys.events)
    stats, counters, has_stream = await pipe.execute()
    lag: int | None = None
    pending = 0
    consumers: list[dict[str, Any]] = []
    if has_stream:
        groups = await redis.xinfo_groups(keys.events)
        for group in groups:
            if _s(group.get("name")) == AGGREGATOR_GROUP:
                raw_lag = group.get("lag")
                lag = int(raw_lag) if raw_lag is not None else None
                pending = int(group.get("pending", 0))
                for c in await redis.xinfo_consumers(keys.events, AGGREGATOR_GROUP):
                    consumers.append(
                        {
                            "name": _s(c["name"]),
                            "pending": int(c["pending"]),
                            "idle_ms": int(c["idle"]),
                        }
                    )
    stats = {_s(k): _s(v) for k, v in stats.items()}
    counters = {_s(k): _s(v) for k, v in counters.items()}
    last = stats.get("last_applied_ms")
    return {
        "lag": lag,
        "pending": pending,
        "consumers": consumers,
        "last_applied_ts": int(last) if last else None,
        "too_late": int(stats.get("too_late", 0)),
        "duplicates": int(stats.get("duplicates", 0)),
        "applied": int(stats.get("applied", 0)),
        "future": int(stats.get("future", 0)),
        "deadlettered": int(counters.get("deadlettered", 0)),
        "trimmed": int(counters.get("trimmed", 0)),
        "drift_cents": int(stats.get("drift_cents", 0)),
        "generation": gen,
    }
