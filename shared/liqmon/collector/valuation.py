"""What one liquidation is worth, and the event built from it, the same way on every venue.

Numbers are computed with `EXACT` (80 significant digits, every trap on) so a product of two
wire decimals is never rounded before the final cent rounding. `coin_qty_usd` values a
liquidation from its contract-applied amount; `EventBuilder` (one per product of a parser)
binds what all of a feed's events share and builds each event with its id (docs/EVENTS.md).
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Final

from liqmon.collector.frames import MalformedFrame
from liqmon.collector.symbols import split_multiplier
from liqmon.event import MAX_USD, LiquidationEvent, make_event, make_event_id, to_cents
from liqmon.venues import SAMPLED_EXCHANGES

EXACT: Final = Context(
    prec=80, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Overflow, DivisionByZero]
)
#: Derived quantities (COIN-M and OKX inverse: qty = usd / price) are rounded half-even to
#: 8 decimals, then trailing zeros dropped: 300 / 9352.7 -> "0.0320763" (expected.json).
QTY_STEP: Final = Decimal("1e-8")


_ONE: Final = Decimal(1)
_multiply = EXACT.multiply


def mul(*values: Decimal) -> Decimal:
    out = _ONE
    for value in values:
        out = _multiply(out, value)
    return out


def check_usd(usd: Decimal) -> Decimal:
    if not usd.is_finite() or usd > MAX_USD:
        raise MalformedFrame(f"usd notional out of range: {usd:.6E}")
    return usd


def qty_from_usd(usd: Decimal, price: Decimal) -> Decimal:
    """Coins from a USD notional (inverse contracts), rounded per `QTY_STEP`."""
    try:
        qty = EXACT.divide(usd, price).quantize(QTY_STEP, context=EXACT)
    except (InvalidOperation, DivisionByZero, Overflow):
        raise MalformedFrame(f"quantity out of range: {usd} / {price}") from None
    if qty <= 0:
        raise MalformedFrame(f"quantity rounds to zero: {usd} / {price}")
    return qty.normalize(EXACT)


def exact(value: Decimal) -> Decimal:
    """Drop trailing zeros without rounding (`0.190` -> `0.19`, `13000` stays 13000 in `f`)."""
    return value.normalize(EXACT)


def coin_qty_usd(
    margin: str, amount: Decimal, price: Decimal, base: str
) -> tuple[str, Decimal, Decimal, Decimal]:
    """Value one liquidation the same way on every venue: `(coin, qty, usd, coin_price)`.

    `amount` is what the venue's size is worth once its contract spec is applied: coins of
    `base` for a linear contract (`usd = amount × price`), USD for an inverse one
    (`usd = amount`, `qty = amount / price` rounded per `QTY_STEP`). A multiplier prefix on
    `base` (`1000PEPE`) is split off: it multiplies the quantity and divides the price, so
    both are per single coin (`qty × coin_price` is still the notional, and a coin's price
    is on one scale across venues); the USD value is unchanged by it. The division is exact
    (multipliers are powers of ten), and a price without a multiplier keeps its digits as
    the venue sent them.
    """
    coin, multiplier = split_multiplier(base)
    if multiplier == 1:
        # What the general case gives with 1 (`1 × a × 1`, rounded to `EXACT` like `exact`
        # rounds: the same digits), without its two multiplications.
        if margin == "linear":
            return coin, exact(amount), check_usd(mul(amount, price)), price
        usd = check_usd(amount)
        return coin, qty_from_usd(usd, price), usd, price
    coin_price = EXACT.divide(price, multiplier).normalize(EXACT)
    if margin == "linear":
        usd = check_usd(mul(amount, price))
        return coin, exact(mul(amount, multiplier)), usd, coin_price
    usd = check_usd(amount)
    return coin, exact(mul(qty_from_usd(usd, price), multiplier)), usd, coin_price


class EventBuilder:
    """Builds the events of one venue's parser: what all of them share is bound once (the
    exchange, whether its feed is sampled per liqmon.venues, the kind of price it sends, the
    product and, unless the instrument's spec says it per event, the margin), so each call
    names only what the liquidation itself says. A parser of several products keeps one
    builder per product.

    `event()` values the liquidation (`coin_qty_usd` by the event's own `margin`) and builds
    it; the id is over the venue's own quantity `qty_venue` (default: `amount`) and price
    (see `make_event_id`). `event_id` replaces that id where the venue's own identifiers make
    a better one (BitMEX: no event time on the wire; Deribit: one trade can be two
    liquidations; dYdX, Kraken, Bitfinex: each liquidation is named).
    """

    __slots__ = ("exchange", "margin", "price_kind", "product", "sampled")

    def __init__(self, exchange: str, price_kind: str, product: str = "", margin: str = "") -> None:
        self.exchange = exchange
        self.price_kind = price_kind
        self.product = product
        self.margin = margin
        self.sampled = exchange in SAMPLED_EXCHANGES

    def event(
        self,
        instrument: str,
        base: str,
        side: str,
        price: Decimal,
        amount: Decimal,
        ts: int,
        recv_ts: int,
        qty_venue: Decimal | None = None,
        *,
        margin: str = "",
        event_id: str | None = None,
    ) -> LiquidationEvent:
        exchange, product, margin = self.exchange, self.product, margin or self.margin
        coin, qty, usd, coin_price = coin_qty_usd(margin, amount, price, base)
        if not event_id:
            # The id is over the venue's own values (its price, not the per-coin one).
            venue_qty = amount if qty_venue is None else qty_venue
            event_id = make_event_id(exchange, product, instrument, side, ts, venue_qty, price)
        # `make_event` checks margin, side and price kind like `LiquidationEvent` does.
        return make_event(
            event_id, exchange, product, margin, instrument, coin, side, coin_price,
            self.price_kind, qty, to_cents(usd), ts, recv_ts, self.sampled,
        )  # fmt: skip
