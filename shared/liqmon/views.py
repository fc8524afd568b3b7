"""The read model: what the web service shows, read from the aggregator's keys.

The web service only reads Redis and never computes windows itself; these functions are
its whole view of the aggregator. Each is a fixed, small number of round trips whatever
the windows hold (the summary is one read-only Lua script, so it is also one consistent
snapshot: totals, rankings and the largest event all come from the same instant).

Layout shared with the aggregator (liqmon_aggregator writes exactly this):
- time is cut into `BUCKET_MS` buckets; window W holds the buckets above its watermark,
  i.e. it slides in 5 s steps over *event* time;
- money is integer cents in Redis, returned here as floats with 2 decimals (cents / 100);
- the USD-weighted average price of a coin/side is sum(price_units * cents) / sum(cents),
  where price_units = price * 10**10 rounded half-even; the numerator is kept exactly as
  three 40-bit limbs (see `price_limbs`). Precision guaranteed: the average of the prices
  rounded to 1e-10 USD, exact to 12 significant digits in the returned string.

A window is `incomplete` when it overlaps a collector gap (closed, or open in a status hash)
or starts before the latest `collector_first_start` among the exchanges that have one: an
exchange collected for an hour has no 1d figure yet; one never run is not expected. An
exchange that ran (it has a first start) but has no status hash is down and not restarted
(the hash expired): its outage is open now, so every window is incomplete until a collector
is back; the gap itself is recorded when one starts (from the `collector_alive` marker).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any, Final

import orjson
from redis.asyncio import Redis

from liqmon.event import PRODUCTS
from liqmon.keys import AGGREGATOR_GROUP, Keys

WINDOWS: tuple[str, ...] = ("3m", "15m", "1h", "4h", "12h", "1d")
WINDOW_MS: Final[dict[str, int]] = {
    "3m": 180_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}
EXCHANGES: tuple[str, ...] = tuple(PRODUCTS)
SIDES: Final = (("long", "L"), ("short", "S"))
BUCKET_MS: Final = 5_000
RECENT_SIZE: Final = 500
PRICE_SCALE: Final = 10**10
LIMB_BITS: Final = 40
LIMB_MASK: Final = (1 << LIMB_BITS) - 1
#: price_units * cents must stay below this (3 limbs) or the event is refused.
MAX_PRICE_WEIGHT: Final = 1 << (3 * LIMB_BITS)
SERIES_MAX_MINUTES: Final = 90 * 24 * 60
_AVG_CONTEXT: Final = Context(prec=12, rounding=ROUND_HALF_EVEN)


def window_buckets(window: str) -> int:
    return WINDOW_MS[window] // BUCKET_MS


def price_limbs(price_units: int, cents: int) -> tuple[int, int, int]:
    """Split price_units * cents into three 40-bit limbs (summed independently, exact)."""
    weight = price_units * cents
    if not 0 <= weight < MAX_PRICE_WEIGHT:
        raise ValueError("price * usd out of range for the average")
    return weight & LIMB_MASK, (weight >> LIMB_BITS) & LIMB_MASK, weight >> (2 * LIMB_BITS)


def avg_price(limbs: tuple[int, int, int], cents: int) -> str | None:
    """USD-weighted average price from summed limbs and summed cents (None when empty)."""
    if cents <= 0:
        return None
    weight = limbs[0] + (limbs[1] << LIMB_BITS) + (limbs[2] << (2 * LIMB_BITS))
    value = _AVG_CONTEXT.divide(Decimal(weight), Decimal(cents * PRICE_SCALE))
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _money(cents: int) -> float:
    return round(cents / 100, 2)


async def read_generation(redis: Redis, keys: Keys) -> int:
    """The live generation (1 until the first `liqmon rebuild`)."""
    raw = await redis.get(keys.agg_generation)
    return int(raw) if raw is not None else 1


# One consistent snapshot of every window (read only, so it may run on a replica).
SUMMARY_LUA: Final = """#!lua flags=no-writes
--[[ summary: read every window at once.
KEYS  for each window (WINDOWS order) 5 keys: totals hash, coin hash, rank L, rank S,
      largest zset; then for each exchange 3 keys: gaps zset, collector status hash,
      first-start string
ARGV  1 top N   2 window count   3 exchange count
RETURNS {now_ms, per window {totals flat, rank L flat, counts L, rank S flat, counts S,
  largest {member, score} or {}}, per exchange {max gap end or false, open since or false,
  first start or false, 1 if the status hash exists else 0}}
]]
local top, nw, ne = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local out = {string.format('%d', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))}
local function ranked(rk, ck, suffix)
  local flat = redis.call('ZREVRANGE', rk, 0, top - 1, 'WITHSCORES')
  if #flat == 0 then return flat, {} end
  local fields = {}
  for j = 1, #flat, 2 do fields[#fields + 1] = flat[j] .. suffix end
  return flat, redis.call('HMGET', ck, unpack(fields))
end
for i = 0, nw - 1 do
  local k = 1 + 5 * i
  local rl, cl = ranked(KEYS[k + 2], KEYS[k + 1], ':Ln')
  local rs, cs = ranked(KEYS[k + 3], KEYS[k + 1], ':Sn')
  local lg = redis.call('ZREVRANGE', KEYS[k + 4], 0, 0, 'WITHSCORES')
  out[#out + 1] = {redis.call('HGETALL', KEYS[k]), rl, cl, rs, cs, lg}
end
for i = 0, ne - 1 do
  local k = 1 + 5 * nw + 3 * i
  local gap = redis.call('ZREVRANGE', KEYS[k], 0, 0, 'WITHSCORES')
  local open = redis.call('HGET', KEYS[k + 1], 'gap_open_since')
  local first = redis.call('GET', KEYS[k + 2]) or false
  out[#out + 1] = {gap[2] or false, open or false, first, redis.call('EXISTS', KEYS[k + 1])}
end
return out
"""


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


def _largest(lg: list[Any]) -> dict[str, Any] | None:
    if not lg:
        return None
    member = _s(lg[0])  # "<id> <EVENT JSON>"
    event: dict[str, Any] = orjson.loads(member[member.index(" {") + 1 :])
    return event


async def read_summary(redis: Redis, keys: Keys, *, top: int = 10) -> dict[str, Any]:
    """All windows: totals, per-exchange split, top coins, largest event, flags."""
    gen = await read_generation(redis, keys)
    script_keys: list[str] = []
    for w in WINDOWS:
        script_keys += [
            keys.agg_window(gen, w),
            keys.agg_window_coins(gen, w),
            keys.agg_rank(gen, w, "L"),
            keys.agg_rank(gen, w, "S"),
            keys.agg_largest(gen, w),
        ]
    for ex in EXCHANGES:
        script_keys += [
            keys.collector_gaps(ex),
            keys.collector_status(ex),
            keys.collector_first_start(ex),
        ]
    script = redis.register_script(SUMMARY_LUA)
    reply = await script(keys=script_keys, args=[max(1, top), len(WINDOWS), len(EXCHANGES)])
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
            "long_usd": _money(totals.get("L", 0)),
            "short_usd": _money(totals.get("S", 0)),
            "long_count": totals.get("Ln", 0),
            "short_count": totals.get("Sn", 0),
            "by_exchange": {
                ex: {
                    "long_usd": _money(totals.get(f"{ex}:L", 0)),
                    "short_usd": _money(totals.get(f"{ex}:S", 0)),
                    "long_count": totals.get(f"{ex}:Ln", 0),
                    "short_count": totals.get(f"{ex}:Sn", 0),
                }
                for ex in EXCHANGES
            },
            "top_long": _ranking(rl, cl)[:top],
            "top_short": _ranking(rs, cs)[:top],
            "largest": _largest(lg),
            "incomplete": open_gap or gap_end > start or start < collected_from,
            "capped_seconds": totals.get("cap", 0),
        }
    return {"as_of": now, "windows": windows}


async def read_symbol(redis: Redis, keys: Keys, symbol: str) -> dict[str, Any]:
    """One coin in every window: totals, counts, USD-weighted average price per side."""
    gen = await read_generation(redis, keys)
    fields = [f"{symbol}:{s}{suffix}" for _, s in SIDES for suffix in ("", "n", "p0", "p1", "p2")]
    pipe = redis.pipeline(transaction=False)
    for w in WINDOWS:
        pipe.hmget(keys.agg_window_coins(gen, w), fields)
    replies = await pipe.execute()
    windows: dict[str, Any] = {}
    for w, values in zip(WINDOWS, replies, strict=True):
        nums = [int(v) if v is not None else 0 for v in values]
        out: dict[str, Any] = {}
        for i, (side, _) in enumerate(SIDES):
            cents, count, p0, p1, p2 = nums[5 * i : 5 * i + 5]
            out[f"{side}_usd"] = _money(cents)
            out[f"{side}_count"] = count
            out[f"{side}_avg_price"] = avg_price((p0, p1, p2), cents)
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


def series_scope(symbol: str | None, exchange: str | None) -> str:
    if symbol and exchange:
        return f"cx:{symbol}:{exchange}"
    if symbol:
        return f"c:{symbol}"
    if exchange:
        return f"ex:{exchange}"
    return "all"


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


async def read_recent(redis: Redis, keys: Keys, limit: int = 500) -> list[dict[str, Any]]:
    """The latest events by event time, newest first (EVENT dicts), at most 500."""
    gen = await read_generation(redis, keys)
    limit = max(0, min(limit, RECENT_SIZE))
    if limit == 0:
        return []
    members = await redis.zrevrange(keys.agg_recent(gen), 0, limit - 1)
    return [orjson.loads(_s(m)) for m in members]


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
