"""Liquidations as the simulator invents them: instrument, side, size, price and time.

Every random draw comes from the `random.Random` handed in, so a seed gives the same
sequence of liquidations. Quantities and prices are built on the instrument's lot and tick
grids (powers of ten), and the USD notional is computed once, here, from exactly the
values that will be printed on the wire:

    Binance USDⓈ-M   z × ap                 (USDT/USDC counted as USD)
    Binance COIN-M   z × contractSize       (z in contracts)
    OKX linear       sz × ctVal × ctMult × bkPx
    OKX inverse      sz × ctVal × ctMult
    Bybit linear     v × p                  (v in coins of the symbol's base, e.g. 1000PEPE)
    Bybit inverse    v                      (v in USD: 1-USD contracts)

Downstream systems derive an event id from (instrument, side, time, quantity, price), so two
genuinely different liquidations must never share that tuple: `Market` nudges the quantity by
one lot when a fresh draw would repeat one seen in the last few seconds.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal, TypeVar

from liqmon_sim.catalog import Catalog, Instrument, Venue, exponent

Side = Literal["long", "short"]
T = TypeVar("T")
CENT = Decimal("0.01")
ONE = Decimal(1)
HUNDRED = Decimal(100)  # a Decimal operand: `usd * 100` converted the int each time
MIN_USD = 5.0
MAX_USD = 25_000_000.0
#: Binance merges nothing, but a cautious client might treat the same (symbol, S, q, p) within
#: a minute as one order being updated; the generator keeps that tuple unique for this long.
ORDER_KEY_MS = 60_000
EVENT_KEY_MS = 5_000
KEY_CAP = 200_000


def round_cents(usd: Decimal) -> Decimal:
    return usd.quantize(CENT, rounding=ROUND_HALF_EVEN)


def notional_usd(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    """Exact USD value of a liquidation in the simulator's own terms (not rounded): the
    venue's plug-in says how (`SimPlugin.notional`)."""
    from liqmon_sim.venues.plugin import by_venue  # plug-ins import this module

    return by_venue()[inst.venue].notional(inst, qty, price)


@dataclass(slots=True)
class Liquidation:
    inst: Instrument
    side: Side  # the POSITION liquidated
    qty: Decimal  # Binance z (base units or COIN-M contracts) / OKX sz (contracts)
    price: Decimal  # Binance ap / OKX bkPx
    ts: int  # Binance o.T / OKX details.ts (ms)
    usd: Decimal  # rounded half-even to the cent
    limit_price: Decimal  # Binance o.p (the IOC order's limit)
    last_fill: Decimal  # Binance o.l
    net_mode: bool = False  # OKX posSide "net" (then `side` says which position)
    late_ms: int = 0
    run: int = 0  # the run (batch) that produced it, for the ledger

    @property
    def cents(self) -> int:
        return int(self.usd * HUNDRED)

    def id_key(self) -> tuple[str, str, str, int, Decimal, Decimal]:
        return (self.inst.venue, self.inst.inst_id, self.side, self.ts, self.qty, self.price)


#: the majors' liquidations run larger than the rest's (multiplier of the median size)
_SIZE_FACTOR = {"BTC": 3.0, "ETH": 2.0, "SOL": 1.5}


@dataclass(frozen=True, slots=True)
class SizeModel:
    """Log-normal USD sizes with rare multi-million 'whale' prints."""

    median_usd: float = 1_500.0
    sigma: float = 1.5
    whale_prob: float = 0.002
    whale_min_usd: float = 1_000_000.0
    whale_max_usd: float = 8_000_000.0
    long_share: float = 0.6  # fraction of liquidated positions that are longs

    def draw(self, rng: random.Random, coin: str) -> float:
        if coin in ("BTC", "ETH", "SOL") and rng.random() < self.whale_prob:
            lo, hi = math.log(self.whale_min_usd), math.log(self.whale_max_usd)
            return math.exp(rng.uniform(lo, hi))
        factor = _SIZE_FACTOR.get(coin, 0.8)
        usd = self.median_usd * factor * math.exp(rng.gauss(0.0, self.sigma))
        return min(MAX_USD, max(MIN_USD, usd))


@dataclass(frozen=True, slots=True)
class Grid:
    """A tick or lot grid as integers: a value on it is `units` × 10^`exp`, `units` a
    multiple of `coefficient` (the step's digits). Drawing in integers and building each
    `Decimal` once from its units costs a fraction of Decimal arithmetic, with the same digits.
    A float `value` goes on the grid as `max(1, round(value * scale / coefficient)) *
    coefficient` units (at least one step), and `units` back to a Decimal as
    `Decimal(units) * one`; `Market.make` spells both out (seven calls per liquidation).

    Steps are mostly powers of ten; one that is not (Deribit's BTC contracts: 10 USD, written
    `10`, exponent 0) rounds to a multiple of its coefficient, so a tiny liquidation is one
    whole contract, never a fraction of one (which made `make` draw from an empty range)."""

    exp: int
    coefficient: int
    scale: float  # 10.0 ** -exp, computed as the float rounding always did
    #: a value's float is `units * num / den` (num, den: powers of ten, one of them 1): an
    #: int quotient is correctly rounded, as `float(Decimal)` is (via its text), so the
    #: same float, without writing the Decimal out and parsing it back
    num: int
    den: int
    #: 1 × 10^exp: `Decimal(units) * one` has the digits and exponent of
    #: `Decimal(units).scaleb(exp)` (a product's exponent is the sum), at 2/3 the cost
    one: Decimal

    @staticmethod
    def of(step: Decimal) -> Grid:
        exp = exponent(step)
        num, den = 10 ** max(0, exp), 10 ** max(0, -exp)
        return Grid(exp, int(step.scaleb(-exp)), 10.0**-exp, num, den, ONE.scaleb(exp))


@dataclass(frozen=True, slots=True)
class _Spec:
    """What `Market.make` needs of one instrument, worked out once (not per liquidation)."""

    inst: Instrument
    tick: Grid
    lot: Grid
    notional: Callable[[Instrument, Decimal, Decimal], Decimal]
    price_spread: bool
    okx: bool


def pick_weighted(rng: random.Random, population: list[T], cum_weights: list[float]) -> T:
    """`rng.choices(population, cum_weights=cum_weights)[0]`, the same draw (one `random()`,
    the same bisection) without the list building `choices` does for k items."""
    return population[bisect(cum_weights, rng.random() * cum_weights[-1], 0, len(population) - 1)]


class Market:
    """Draws liquidations for a venue; holds the coins' drifting mid prices."""

    def __init__(
        self,
        catalog: Catalog,
        sizes: SizeModel,
        spread: float = 1.0,
        focus: dict[str, float] | None = None,
    ) -> None:
        self.catalog = catalog
        self.sizes = sizes
        self.spread = spread  # weight ** spread: < 1 spreads activity over more symbols
        self.focus = focus or {}  # coin -> weight multiplier (one coin dominating a crash)
        self.mids: dict[str, float] = {}
        self.drift = 0.0  # log-drift per liquidation of a coin (negative: a dump)
        self._pickers: dict[Venue, tuple[int, list[Instrument], list[float]]] = {}
        self._keys: dict[int, int] = {}  # key hash -> deadline (ms)
        #: deadline, key hash, deadline, key hash, ... flat: ints are not tracked by the
        #: cyclic GC, a (deadline, key) tuple was, two per liquidation, each traversed by
        #: every young collection (the GC was ~15% of the simulator's CPU in a crash run)
        self._key_order: deque[int] = deque()
        self._specs: dict[int, _Spec] = {}  # id(instrument) -> its spec

    def mid(self, coin: str) -> float:
        ref = self.catalog.coins[coin].price
        return self.mids.setdefault(coin, ref)

    def _move(self, rng: random.Random, coin: str) -> float:
        ref = self.catalog.coins[coin].price
        mid = self.mids.get(coin, ref)
        pull = -0.002 * math.log(mid / ref)
        mid *= math.exp(self.drift + pull + rng.gauss(0.0, 0.0004))
        self.mids[coin] = mid
        return mid

    def pick(self, rng: random.Random, venue: Venue) -> Instrument:
        cached = self._pickers.get(venue)
        if cached is None or cached[0] != self.catalog.version:
            insts = [i for i in self.catalog.instruments(venue) if i.weight > 0]
            total = 0.0
            cum = []
            for inst in insts:
                total += inst.weight**self.spread * self.focus.get(inst.coin, 1.0)
                cum.append(total)
            cached = (self.catalog.version, insts, cum)
            self._pickers[venue] = cached
        return pick_weighted(rng, cached[1], cached[2])

    def _spec(self, inst: Instrument) -> _Spec:
        spec = self._specs.get(id(inst))
        if spec is None or spec.inst is not inst:  # a new object at a recycled id
            from liqmon_sim.venues.plugin import by_venue  # plug-ins import this module

            plugin = by_venue()[inst.venue]
            spec = _Spec(
                inst, Grid.of(inst.tick), Grid.of(inst.lot), plugin.notional,
                plugin.price_spread, inst.venue == "okx",
            )  # fmt: skip
            self._specs[id(inst)] = spec
        return spec

    def make(
        self,
        rng: random.Random,
        inst: Instrument,
        now_ms: int,
        late_ms: int = 0,
        usd_target: float | None = None,
        side: Side | None = None,
    ) -> Liquidation:
        spec = self._spec(inst)
        mid = self._move(rng, inst.coin)
        side = side or ("long" if rng.random() < self.sizes.long_share else "short")
        target = usd_target or self.sizes.draw(rng, inst.coin)
        # longs are liquidated by SELL orders filling at or above their limit, shorts the reverse
        sign = -1.0 if side == "long" else 1.0
        # the price per unit the venue quotes (1000PEPE: per 1000 coins): a bankruptcy or
        # order price around the mid, or (Binance's average fill) the mid itself
        unit = mid * inst.multiplier
        tick, lot, notional = spec.tick, spec.lot, spec.notional
        # `Grid.units` and `Grid.decimal` spelled out (the same float expressions, so the
        # same rounding): at a crash's rates the calls cost more than the arithmetic
        tscale, tstep, lstep = tick.scale, tick.coefficient, lot.coefficient
        if spec.price_spread:
            unit *= 1 + sign * rng.uniform(0.0, 0.003)
        price_units = max(1, round(unit * tscale / tstep)) * tstep
        price = Decimal(price_units) * tick.one
        per_unit = float(notional(inst, ONE, price))
        qty_units = max(1, round(target / per_unit * lot.scale / lstep)) * lstep
        ts = now_ms - late_ms
        limit = price_units * tick.num / tick.den * (1 + sign * rng.uniform(0.0005, 0.01))
        limit_units = max(1, round(limit * tscale / tstep)) * tstep
        qty_units = self._unique(inst, side, ts, qty_units, price_units, limit_units, now_ms, lot)
        qty = Decimal(qty_units) * lot.one
        if rng.random() < 0.6:
            last = qty
        else:
            last = Decimal(rng.randint(1, qty_units // lstep) * lstep) * lot.one
        usd = notional(inst, qty, price).quantize(CENT, rounding=ROUND_HALF_EVEN)
        return Liquidation(
            inst, side, qty, price, ts, usd, Decimal(limit_units) * tick.one, last,
            net_mode=spec.okx and rng.random() < 0.1, late_ms=late_ms,
        )  # fmt: skip

    def _unique(
        self,
        inst: Instrument,
        side: Side,
        ts: int,
        qty_units: int,
        price_units: int,
        limit_units: int,
        now_ms: int,
        lot: Grid,
    ) -> int:
        """`qty_units` (on the lot grid), nudged one lot up while the liquidation's event
        key or order key was seen recently. Units on an instrument's grids stand for its
        Decimals one to one, so keys over units are keys over the printed values."""
        # expire first: keys expire in insertion order only approximately (two horizons);
        # a key is dropped when its own deadline passes, checked lazily from the front
        order, keys, cap = self._key_order, self._keys, 2 * KEY_CAP
        while order and (order[0] <= now_ms or len(order) > cap):
            deadline = order.popleft()
            key = order.popleft()
            if keys.get(key) == deadline:
                del keys[key]
        step = lot.coefficient
        venue, inst_id = inst.venue, inst.inst_id
        # hashes, not tuples: a soak keeps ~10^5 of these; a hash collision only costs a
        # needless one-lot nudge, never a duplicate
        while True:
            event_key = hash(("e", venue, inst_id, side, ts, qty_units, price_units))
            order_key = hash(("o", venue, inst_id, side, qty_units, limit_units))
            if event_key not in keys and order_key not in keys:
                break
            qty_units += step
        event_deadline = keys[event_key] = now_ms + EVENT_KEY_MS
        order_deadline = keys[order_key] = now_ms + ORDER_KEY_MS
        order.extend((event_deadline, event_key, order_deadline, order_key))
        return qty_units
