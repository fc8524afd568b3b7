"""The window layout: the one owner of how the aggregator's derived state is shaped.

The aggregator writes it (Python folds a batch, its Lua scripts store it) and the read model
(`liqmon.views`) reads it; both take every name and constant from here. Key *names* are in
`liqmon.keys`; this module owns what is inside the keys:

- Time is cut into `BUCKET_MS` buckets of event time; bucket = ts // BUCKET_MS. Window W
  (`WINDOWS`, shortest first, the longest last) holds the buckets above its watermark, so it
  slides in 5 s steps; an event at or below the longest window's watermark is too late.
- A window totals hash (and each bucket's totals hash) has the fields `total_fields`:
  `L`/`S` (cents), `Ln`/`Sn` (counts), `<ex>:L`, `<ex>:Ln`, … per exchange, and `cap`
  (capped one-second slots). A bucket hash also has the largest event of the bucket:
  `x:mx` (cents) and `x:mid` (its id, the member of the windows' largest zsets; the EVENT
  JSON is kept once, in `Keys.agg_largest_events`): the `x:` prefix marks fields that are
  not sums. Every value stays short, so Redis keeps the hash compact (listpack).
- A window coin hash has, per coin and side, `coin_fields`: `<sym>:L` (cents), `<sym>:Ln`
  (count) and the price-weight limbs `<sym>:Lp0`..`<sym>:Lp3` (same for S). A bucket keeps
  the same sums as msgpack records (`BUCKET_RECORD`) in one string, read back by
  bucket.lua (in evict.lua and selfcheck.lua).
- Money is integer cents. The USD-weighted average price of a coin/side is
  sum(price_units * cents) / sum(cents) with price_units = price * PRICE_SCALE rounded
  half-even; the numerator is kept exactly as `LIMBS` limbs of `LIMB_BITS` bits, summed
  independently. PRICE_SCALE = 10^18 keeps at least 6 significant digits for every price
  >= 1e-13 USD; the average is returned to 12 significant digits.
- Bounds. A window limb grows by less than 2^LIMB_BITS per record (one per apply call,
  bucket and coin/side), so a busy coin's limbs pass 2^53 within minutes: Redis holds
  them exactly (64-bit integers, exact up to 2^23 records of one coin/side in the longest
  window, ~97 a second all day), but no Lua script may hold a window or bucket-totals
  value as a double: they add records (every value at most 2^52, split by fold.py) and
  read Redis's own decimal text (evict.lua, selfcheck.lua).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Final

from redis.asyncio import Redis

from liqmon.keys import Keys

#: The shape of the derived state described here. A generation written with another one
#: (its stats hash's `layout` field differs, or is missing) is rebuilt from the stream when
#: an aggregator starts (liqmon_aggregator.rebuild.ensure_layout). Bump it on any change,
#: a removed key too: the rebuild then unlinks every key of the old generation by its
#: prefix, so a key no layout writes any more cannot outlive it.
LAYOUT_VERSION: Final = 3

WINDOWS: Final[tuple[str, ...]] = ("3m", "15m", "1h", "4h", "12h", "1d")
WINDOW_MS: Final[dict[str, int]] = {
    "3m": 180_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}
BUCKET_MS: Final = 5_000
#: Sides as the API names them and as the fields abbreviate them.
SIDES: Final = (("long", "L"), ("short", "S"))
#: Hours of per-minute series a read may span.
SERIES_MAX_MINUTES: Final = 90 * 24 * 60

PRICE_SCALE: Final = 10**18
LIMB_BITS: Final = 40
LIMBS: Final = 4
LIMB_MASK: Final = (1 << LIMB_BITS) - 1
#: price_units * cents must stay below this or the event is refused (dead-lettered).
MAX_PRICE_WEIGHT: Final = 1 << (LIMBS * LIMB_BITS)
_LIMB_SHIFTS: Final = tuple(LIMB_BITS * i for i in range(LIMBS))

CAP: Final = "cap"
LARGEST_CENTS, LARGEST_ID = "x:mx", "x:mid"
#: Bucket-hash fields that are not sums start with this.
NON_SUM_PREFIX: Final = "x:"
#: One record of a bucket's coin sums: msgpack array [symbol, side (L|S), cents, count,
#: p0, p1, p2, p3] (trailing zero limbs left out). Records of one coin/side add up.
BUCKET_RECORD: Final = "[symbol, side, cents, count, p0, p1, p2, p3]"

_EXACT: Final = Context(prec=100, rounding=ROUND_HALF_EVEN)
_AVG: Final = Context(prec=12, rounding=ROUND_HALF_EVEN)
_SCALE: Final = Decimal(PRICE_SCALE)


def window_buckets(window: str) -> int:
    return WINDOW_MS[window] // BUCKET_MS


#: "3m:36,15m:180,…": the windows and their spans in buckets, as the Lua scripts take them.
WINDOW_SPEC: Final = ",".join(f"{w}:{window_buckets(w)}" for w in WINDOWS)


def total_fields(side: str, exchange: str | None = None) -> tuple[str, str]:
    """(cents field, count field) of a totals hash, overall or for one exchange."""
    base = side if exchange is None else f"{exchange}:{side}"
    return base, base + "n"


def coin_fields(symbol: str, side: str) -> tuple[str, ...]:
    """Fields of one coin/side in a window coin hash: cents, count, then the limbs."""
    base = f"{symbol}:{side}"
    return (base, base + "n", *(f"{base}p{i}" for i in range(LIMBS)))


def price_units(price: Decimal) -> int:
    """Price in units of 1 / PRICE_SCALE USD, rounded half-even (exact Decimal arithmetic)."""
    return int(_EXACT.multiply(price, _SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


#: Decimals of PRICE_SCALE: a price with at most this many has whole units.
_PRICE_DECIMALS: Final = len(str(PRICE_SCALE)) - 1
#: A price as collectors write it: digits and at most _PRICE_DECIMALS decimals (at most 16
#: integer digits: the magnitude liqmon.event.parse_decimal allows).
_PLAIN_PRICE: Final = re.compile(rf"([0-9]{{1,16}})(?:\.([0-9]{{1,{_PRICE_DECIMALS}}}))?", re.ASCII)


def plain_price_units(text: str) -> int | None:
    """`price_units(parse_decimal(text, ...))` without Decimal for a plain positive decimal
    string (`"95000.5"`: its digits are the units); None for any other spelling (exponent,
    sign, zero, more decimals, junk): those take the Decimal path."""
    match = _PLAIN_PRICE.fullmatch(text)
    if match is None:
        return None
    frac = match[2] or ""
    return int(match[1] + frac + "0" * (_PRICE_DECIMALS - len(frac))) or None


def price_weight(price_units: int, cents: int) -> int:
    """price_units * cents, the event's share of its coin's average price; raises
    ValueError past MAX_PRICE_WEIGHT (one event's limbs must each fit LIMB_BITS)."""
    weight = price_units * cents
    if not 0 <= weight < MAX_PRICE_WEIGHT:
        raise ValueError("price * usd out of range for the average")
    return weight


def weight_limbs(weight: int) -> tuple[int, ...]:
    """Split a price weight, or a sum of them, into `LIMBS` limbs of LIMB_BITS (the last
    one takes the rest). Limbs are summed independently and stay exact: a sum of n events'
    weights splits into limbs no larger than the sums of their limbs (below n << LIMB_BITS)."""
    low = [(weight >> shift) & LIMB_MASK for shift in _LIMB_SHIFTS[:-1]]
    return (*low, weight >> _LIMB_SHIFTS[-1])


def price_limbs(price_units: int, cents: int) -> tuple[int, ...]:
    """Split price_units * cents into `LIMBS` limbs (summed independently, exact)."""
    return weight_limbs(price_weight(price_units, cents))


def avg_price(limbs: tuple[int, ...] | list[int], cents: int) -> str | None:
    """USD-weighted average price from summed limbs and summed cents (None when empty)."""
    if cents <= 0:
        return None
    weight = sum(limb << (LIMB_BITS * i) for i, limb in enumerate(limbs))
    value = _AVG.divide(Decimal(weight), Decimal(cents * PRICE_SCALE))
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def window_keys(keys: Keys, gen: int, window: str) -> list[str]:
    """The five keys of one window, in the order every script takes them (KEYS): totals
    hash, coin hash, rank zset L, rank zset S, largest zset."""
    return [
        keys.agg_window(gen, window),
        keys.agg_window_coins(gen, window),
        keys.agg_rank(gen, window, "L"),
        keys.agg_rank(gen, window, "S"),
        keys.agg_largest(gen, window),
    ]


def series_scope(symbol: str | None, exchange: str | None) -> str:
    """The scope of a per-minute series (`Keys.agg_series`): `all`, `ex:<exchange>`,
    `c:<sym>` or `cx:<sym>:<exchange>`."""
    if symbol and exchange:
        return f"cx:{symbol}:{exchange}"
    if symbol:
        return f"c:{symbol}"
    if exchange:
        return f"ex:{exchange}"
    return "all"


async def read_generation(redis: Redis, keys: Keys) -> int:
    """The live generation of the derived state (1 until the first `liqmon rebuild`)."""
    return generation_from(await redis.get(keys.agg_generation))


def generation_from(raw: bytes | str | None) -> int:
    """The generation a read of the pointer key means (absent: 1, before any rebuild)."""
    return int(raw) if raw is not None else 1
