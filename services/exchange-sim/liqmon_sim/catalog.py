"""The simulator's instrument universe: which contracts each venue lists, with their specs.

The simulator computes every USD notional from its OWN specs (contract sizes, multipliers,
ticks, lots), never from a collector's, so a test that compares the pipeline with the
ledger compares two independent computations. Values are modelled on the real venues
(Binance COIN-M `contractSize` 100 for BTCUSD_*, 10 otherwise; OKX `ctVal` 0.01 BTC on
BTC-USDT-SWAP and 100 USD on BTC-USD-SWAP; `1000PEPEUSDT`-style multiplier symbols), but
prices are only plausible, not live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Literal

#: A simulator venue name (`okx`, `bybit-linear`, ...): see `liqmon_sim.venues.plugin`.
Venue = str
#: Bybit's month code of the simulator's quarterly expiry (inverse `BTCUSDZ26`).
BYBIT_EXPIRY = ("Z26", "25DEC26")

#: Dated contracts listed by the simulator (one quarterly expiry, 2026-12-25 08:00 UTC).
EXPIRY_CODE = "261225"
EXPIRY_MS = 1_798_185_600_000
LISTED_MS = 1_569_398_400_000

# coin, reference price (USD per coin), activity weight, flags:
#   o = OKX USDT swap, c = Binance COIN-M perp, u = Binance USDC pair, i = OKX inverse swap,
#   f = quarterly futures, k/M/X = Binance quotes it per 1000 / 1M ("1M") / 1000000 coins.
_COINS = """
BTC 82000 30 ocuifq   ETH 3100 20 ocuifq   SOL 140 10 ocui   XRP 1.49 4 ocui   DOGE 0.17 4 ocui
BNB 850 2 cu   ADA 0.55 1.5 oci   TRX 0.28 0.6 oci   AVAX 22 1 oci   LINK 15 1 oci
DOT 3.9 0.6 oci   LTC 95 0.8 oci   BCH 480 0.6 oci   SUI 2.6 1.5 ou   TON 2.9 0.5 o
NEAR 2.4 0.5 oc   APT 4.8 0.5 o   ARB 0.34 0.5 o   OP 0.62 0.5 oc   SHIB 0.0000125 0.6 ok
PEPE 0.0000105 1.5 oku   BONK 0.000017 0.6 ok   FLOKI 0.000085 0.4 ok   WIF 0.75 0.8 ou
TRUMP 8.5 0.6 ou   HYPE 42 1.2 o   ENA 0.45 0.8 ou   WLD 1.1 0.5 ou   TIA 1.6 0.4 o
SEI 0.24 0.4 o   INJ 12 0.4 o   FIL 2.4 0.4 oc   ATOM 4.1 0.4 oc   ETC 17 0.4 oc
UNI 7.5 0.5 oc   AAVE 260 0.6 o   LDO 1.1 0.3 o   CRV 0.7 0.4 o   RUNE 1.2 0.3 o
ORDI 8 0.3 o   SATS 0.00000025 0.2 k   JUP 0.45 0.3 o   PYTH 0.14 0.2 o   STRK 0.13 0.3 o
ZK 0.06 0.2 o   EIGEN 1.4 0.2 o   ONDO 0.85 0.4 o   RENDER 3.5 0.3 o   FET 0.62 0.4 o
TAO 380 0.5 o   IMX 0.55 0.2 o   SAND 0.27 0.2 o   MANA 0.3 0.2 o   AXS 2.4 0.2 o
GALA 0.016 0.2 o   APE 0.55 0.2 o   DYDX 0.6 0.2 o   GMX 14 0.1 -   BLUR 0.1 0.1 o
NOT 0.0018 0.2 o   PEOPLE 0.02 0.2 o   POL 0.22 0.2 o   XLM 0.38 0.4 oc   HBAR 0.2 0.4 o
ALGO 0.22 0.2 o   VET 0.025 0.2 o   ICP 5.5 0.3 o   ZEC 45 0.2 o   DASH 28 0.1 o
XTZ 0.7 0.1 o   EGLD 16 0.1 o   KAS 0.08 0.2 -   THETA 0.8 0.1 o   S 0.45 0.2 o
CHZ 0.04 0.1 o   ENS 18 0.1 o   COMP 45 0.1 o   SNX 0.7 0.1 -   YFI 5500 0.05 o
SUSHI 0.6 0.1 o   1INCH 0.25 0.1 o   GRT 0.1 0.2 o   STX 0.7 0.2 o   JTO 2 0.2 o
W 0.12 0.1 o   ETHFI 1.1 0.2 o   PENDLE 3.8 0.2 o   AR 7 0.1 o   BOME 0.0015 0.2 -
POPCAT 0.3 0.2 o   MOODENG 0.15 0.2 o   GOAT 0.1 0.1 o   PNUT 0.2 0.2 o   ACT 0.06 0.1 o
VIRTUAL 1.3 0.4 o   AI16Z 0.2 0.2 -   FARTCOIN 0.9 0.5 o   PENGU 0.03 0.4 o   MOVE 0.12 0.1 o
BERA 2.5 0.2 o   IP 5 0.2 o   KAITO 1.2 0.2 o   LAYER 0.5 0.1 o   MANTA 0.072 0.1 -
CELO 0.096 0.1 o   MINA 0.099 0.1 o   IOST 0.0035 0.05 o   STG 0.135 0.05 -   IOTX 0.02 0.05 o
COTI 0.022 0.05 -   CNPY 0.416 0.05 o   XEC 0.0000185 0.05 k   LUNC 0.00006 0.1 ok
RATS 0.00005 0.05 k   CAT 0.000008 0.05 k   BABYDOGE 0.0000000012 0.05 M   CHEEMS 0.0000012 0.05 k
MOG 0.0000006 0.05 X   XAI 0.05 0.05 -   ARKM 0.45 0.1 o   AEVO 0.1 0.05 -   ALT 0.03 0.05 -
"""
MULTIPLIER_PREFIXES = {"k": 1000, "M": 1_000_000, "X": 1_000_000}
_PREFIX_NAMES = {"k": "1000", "M": "1M", "X": "1000000"}


@dataclass(frozen=True, slots=True)
class Coin:
    name: str
    price: float
    weight: float
    flags: str


@dataclass(slots=True)
class Instrument:
    """One tradable contract on one venue, with everything needed to price a liquidation."""

    venue: Venue
    inst_id: str  # Binance symbol or OKX instId
    coin: str  # base coin in the simulator's terms (PEPE for 1000PEPEUSDT)
    ct_type: Literal["linear", "inverse"]
    quote: str  # USDT, USDC or USD
    delivery: bool  # dated contract (Binance quarterly / OKX FUTURES)
    multiplier: int  # coins per unit of the venue's base asset (1000 for 1000PEPE)
    contract_size: Decimal  # COIN-M contractSize (USD) / OKX ctVal; 1 for USDⓈ-M
    ct_mult: Decimal  # OKX ctMult; 1 elsewhere
    tick: Decimal
    price_decimals: int
    lot: Decimal
    weight: float
    base_asset: str  # as the venue names it ("1000PEPE", "BTC")
    pair: str  # Binance pair ("BTCUSD") / OKX instFamily ("BTC-USD")
    listed_ms: int = LISTED_MS
    rest_visible_ms: int = 0  # REST lists it from this wall-clock ms (a listing may lag)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def inst_type(self) -> str:
        """OKX instType (also meaningful for Binance: perpetual vs dated)."""
        return "FUTURES" if self.delivery else "SWAP"

    @property
    def lot_decimals(self) -> int:
        return decimals(self.lot)


def pow10(exp: int) -> Decimal:
    return Decimal(1).scaleb(exp)


def tick_for(price: float) -> Decimal:
    """About six significant digits of price (BTC 0.1, ETH 0.01), never finer than 1e-12."""
    return pow10(max(-12, math.floor(math.log10(price)) - 5))


@lru_cache(maxsize=256)
def exponent(step: Decimal) -> int:
    """The power of ten of a step such as 0.01 (-2) or 1E+7 (7)."""
    return int(step.as_tuple().exponent)


def decimals(step: Decimal) -> int:
    return max(0, -exponent(step))


def parse_coins(table: str = _COINS) -> list[Coin]:
    words = table.split()
    return [
        Coin(words[i], float(words[i + 1]), float(words[i + 2]), words[i + 3].strip("-"))
        for i in range(0, len(words), 4)
    ]


def binance_usdm_instruments(coin: Coin) -> list[Instrument]:
    prefix = next((p for p in coin.flags if p in MULTIPLIER_PREFIXES), "")
    mult = MULTIPLIER_PREFIXES.get(prefix, 1)
    base = _PREFIX_NAMES.get(prefix, "") + coin.name
    unit_price = coin.price * mult
    tick = tick_for(unit_price)
    lot = min(Decimal(1), max(Decimal("0.001"), pow10(math.floor(math.log10(0.5 / unit_price)))))
    pdec = max(decimals(tick), 2 if unit_price >= 1000 else 0)
    quotes = [("USDT", 1.0)] + ([("USDC", 0.12)] if "u" in coin.flags else [])
    out = []
    for quote, factor in quotes:
        out.append(
            Instrument(
                "binance-usdm", f"{base}{quote}", coin.name, "linear", quote, False, mult,
                Decimal(1), Decimal(1), tick, pdec, lot, coin.weight * factor, base,
                f"{base}{quote}",
            )
        )  # fmt: skip
    if "q" in coin.flags:
        out.append(
            Instrument(
                "binance-usdm", f"{base}USDT_{EXPIRY_CODE}", coin.name, "linear", "USDT", True,
                mult, Decimal(1), Decimal(1), tick, pdec, lot, coin.weight * 0.03, base,
                f"{base}USDT",
            )
        )  # fmt: skip
    return out


def binance_coinm_instruments(coin: Coin) -> list[Instrument]:
    if "c" not in coin.flags:
        return []
    size = Decimal(100) if coin.name == "BTC" else Decimal(10)
    tick = tick_for(coin.price)
    pair = f"{coin.name}USD"
    names = [(f"{pair}_PERP", False, 1.0)]
    if "f" in coin.flags:
        names.append((f"{pair}_{EXPIRY_CODE}", True, 0.1))
    return [
        Instrument(
            "binance-coinm", name, coin.name, "inverse", "USD", dated, 1, size, Decimal(1),
            tick, decimals(tick), Decimal(1), coin.weight * factor * 0.5, coin.name, pair,
        )
        for name, dated, factor in names
    ]  # fmt: skip


def _okx_lot(contract_usd: float) -> Decimal:
    if contract_usd >= 100:
        return Decimal("0.01")
    return Decimal("0.1") if contract_usd >= 10 else Decimal(1)


def okx_instruments(coin: Coin) -> list[Instrument]:
    out = []
    tick = tick_for(coin.price)
    pdec = decimals(tick)
    if "o" in coin.flags:
        ct_val = pow10(math.floor(math.log10(1000 / coin.price)))
        lot = _okx_lot(float(ct_val) * coin.price)
        quotes = [("USDT", 1.0)] + ([("USDC", 0.08)] if "u" in coin.flags else [])
        for quote, factor in quotes:
            family = f"{coin.name}-{quote}"
            out.append(
                Instrument(
                    "okx", f"{family}-SWAP", coin.name, "linear", quote, False, 1, ct_val,
                    Decimal(1), tick, pdec, lot, coin.weight * factor, coin.name, family,
                )
            )  # fmt: skip
        if "f" in coin.flags:
            family = f"{coin.name}-USDT"
            out.append(
                Instrument(
                    "okx", f"{family}-{EXPIRY_CODE}", coin.name, "linear", "USDT", True, 1,
                    ct_val, Decimal(1), tick, pdec, lot, coin.weight * 0.04, coin.name, family,
                )
            )  # fmt: skip
    if "i" in coin.flags:
        size = Decimal(100) if coin.name == "BTC" else Decimal(10)
        family = f"{coin.name}-USD"
        dated = [("SWAP", False, 0.3)] + ([(EXPIRY_CODE, True, 0.05)] if "f" in coin.flags else [])
        for suffix, is_dated, factor in dated:
            out.append(
                Instrument(
                    "okx", f"{family}-{suffix}", coin.name, "inverse", "USD", is_dated, 1, size,
                    Decimal(1), tick, pdec, Decimal(1), coin.weight * factor, coin.name, family,
                )
            )  # fmt: skip
    return out


_BYBIT_PREFIX_NAMES = {"k": "1000", "M": "1000000", "X": "1000000"}


def bybit_instruments(coin: Coin) -> list[Instrument]:
    """Bybit: a USDT perpetual for every coin (`1000PEPEUSDT`; SHIB as Bybit's `SHIB1000USDT`),
    USDC perpetuals `BTCPERP`, USDT quarterlies `BTCUSDT-25DEC26`, and inverse contracts of
    1 USD each (`BTCUSD`, `BTCUSDZ26`) for the coins Binance lists on COIN-M."""
    prefix = next((p for p in coin.flags if p in MULTIPLIER_PREFIXES), "")
    mult = MULTIPLIER_PREFIXES.get(prefix, 1)
    if coin.name == "SHIB":
        base = f"{coin.name}1000"
    else:
        base = _BYBIT_PREFIX_NAMES.get(prefix, "") + coin.name
    unit_price = coin.price * mult
    tick = tick_for(unit_price)
    lot = min(Decimal(1), max(Decimal("0.001"), pow10(math.floor(math.log10(0.5 / unit_price)))))
    pdec = max(decimals(tick), 2 if unit_price >= 1000 else 0)
    linear = [(f"{base}USDT", "USDT", False, 0.8)]
    if "u" in coin.flags:
        linear.append((f"{base}PERP", "USDC", False, 0.08))
    if "q" in coin.flags:
        linear.append((f"{base}USDT-{BYBIT_EXPIRY[1]}", "USDT", True, 0.02))
    out = [
        Instrument(
            "bybit-linear", name, coin.name, "linear", quote, dated, mult, Decimal(1),
            Decimal(1), tick, pdec, lot, coin.weight * factor, base, f"{base}{quote}",
        )
        for name, quote, dated, factor in linear
    ]  # fmt: skip
    if "c" in coin.flags:
        ctick = tick_for(coin.price)
        inverse = [(f"{coin.name}USD", False, 0.15)]
        if "f" in coin.flags:
            inverse.append((f"{coin.name}USD{BYBIT_EXPIRY[0]}", True, 0.02))
        out += [
            Instrument(
                "bybit-inverse", name, coin.name, "inverse", "USD", dated, 1, Decimal(1),
                Decimal(1), ctick, decimals(ctick), Decimal(1), coin.weight * factor,
                coin.name, f"{coin.name}USD",
            )
            for name, dated, factor in inverse
        ]  # fmt: skip
    return out


class Catalog:
    """Instruments by venue; supports listing a new one while running."""

    def __init__(self, coins: list[Coin] | None = None) -> None:
        self.coins: dict[str, Coin] = {c.name: c for c in (coins or parse_coins())}
        from liqmon_sim.venues.plugin import plugins, sim_venues  # plug-ins import this module

        self.by_venue: dict[Venue, dict[str, Instrument]] = {v: {} for v in sim_venues()}
        for coin in self.coins.values():
            for plugin in plugins():
                for inst in plugin.instruments(coin):
                    self.by_venue[inst.venue][inst.inst_id] = inst
        self.version = 0  # bumped on every change so weighted pickers can rebuild

    def get(self, venue: Venue, inst_id: str) -> Instrument | None:
        return self.by_venue[venue].get(inst_id)

    def instruments(self, venue: Venue) -> list[Instrument]:
        return list(self.by_venue[venue].values())

    def rest_visible(self, venue: Venue, now_ms: int) -> list[Instrument]:
        return [i for i in self.by_venue[venue].values() if i.rest_visible_ms <= now_ms]

    def list_okx(
        self,
        inst_id: str,
        price: float,
        ct_val: Decimal | None = None,
        weight: float = 0.0,
        rest_visible_ms: int = 0,
    ) -> Instrument:
        """List a new OKX linear SWAP (`NEW-USDT-SWAP`) or inverse SWAP (`NEW-USD-SWAP`)."""
        parts = inst_id.split("-")
        if len(parts) != 3 or parts[2] != "SWAP" or parts[1] not in ("USDT", "USDC", "USD"):
            raise ValueError(f"instrument must look like COIN-USDT-SWAP, got {inst_id!r}")
        coin_name, quote = parts[0], parts[1]
        if price <= 0 or not math.isfinite(price):
            raise ValueError("price must be a positive number")
        self.coins.setdefault(coin_name, Coin(coin_name, price, weight, "o"))
        inverse = quote == "USD"
        size = ct_val or (Decimal(10) if inverse else pow10(math.floor(math.log10(1000 / price))))
        tick = tick_for(price)
        inst = Instrument(
            "okx", inst_id, coin_name, "inverse" if inverse else "linear", quote, False, 1, size,
            Decimal(1), tick, decimals(tick),
            Decimal(1) if inverse else _okx_lot(float(size) * price), weight, coin_name,
            f"{coin_name}-{quote}", listed_ms=rest_visible_ms, rest_visible_ms=rest_visible_ms,
        )  # fmt: skip
        self.by_venue["okx"][inst_id] = inst
        self.version += 1
        return inst
