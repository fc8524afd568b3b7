"""The unified coin symbol: the same coin gets the same symbol on every venue.

Venues name contracts differently (`BTCUSDT`, `BTCUSD_PERP`, `BTC-USDT-SWAP`) and some list
low-priced coins in blocks (`1000PEPEUSDT` quotes quantities in units of 1000 PEPE). The
dashboard sums liquidations by coin, so a collector reduces every instrument to the coin
(`PEPE`) and scales the quantity by the block size (`qty × 1000`). The USD notional never
changes: the venue's quantity × price is already per block.

Multiplier forms recognised (on the venue's base asset):
- a leading power of ten of at least 1000: `1000PEPE`, `10000LADYS`, `1000000MOG`;
- a leading `1M` (Binance's `1MBABYDOGE` = one million BABYDOGE), only before a letter;
- a trailing power of ten of at least 1000 (Bybit's `SHIB1000`).
`1INCH` is a coin, not "1 × INCH": a bare leading `1` is never a multiplier.

Symbols are untrusted text. Non-ASCII names exist (a 2026 Binance capture has `牛来USDT`); they
are kept as text (upper-cased, which leaves CJK unchanged) and only what `LiquidationEvent`
rejects (empty, longer than 64 characters) is refused. Escaping is the web layer's job.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Final

#: Quote assets worth one US dollar for our purposes, longest first so `FDUSD` wins over `USD`.
USD_QUOTES: Final = ("FDUSD", "USDT", "USDC", "BUSD", "TUSD", "USDE", "USD")

_LEADING = re.compile(r"^(10{3,}|1M)(?=\D)(.+)$")
_TRAILING = re.compile(r"^(\D.*?)(10{3,})$")
_MILLION: Final = Decimal(1_000_000)


# Cached: every event asks, and a venue lists a few thousand bases at most (the bound keeps
# a hostile feed of made-up names from growing it).
@lru_cache(maxsize=8192)
def split_multiplier(base: str) -> tuple[str, Decimal]:
    """`"1000PEPE"` -> `("PEPE", 1000)`; `"BTC"` -> `("BTC", 1)`."""
    base = base.strip().upper()
    match = _LEADING.match(base)
    if match:
        prefix, coin = match.groups()
        if prefix == "1M":
            if not coin[0].isalpha():
                return base, Decimal(1)
            return coin, _MILLION
        return coin, Decimal(prefix)
    match = _TRAILING.match(base)
    if match:
        coin, suffix = match.groups()
        return coin, Decimal(suffix)
    return base, Decimal(1)


def strip_usd_quote(pair: str) -> str | None:
    """`"BTCUSDT"` -> `"BTC"`, `"BTCUSDT_260327"` (a dated contract) -> `"BTC"`; `None` when
    the pair does not end in a USD quote."""
    pair = pair.split("_", 1)[0]
    upper = pair.upper()
    for quote in USD_QUOTES:
        if upper.endswith(quote) and len(upper) > len(quote):
            return pair[: -len(quote)]
    return None
