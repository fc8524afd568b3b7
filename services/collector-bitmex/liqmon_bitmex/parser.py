"""BitMEX `liquidation` table frames -> `LiquidationEvent`s (inverse, linear, quanto).

The table holds liquidation ORDERS resting in the book, keyed by `orderID`:

    {"table":"liquidation","action":"insert","data":[{"orderID":"e42d57c2-…","symbol":"XBTUSD",
     "side":"Buy","price":88635.6,"leavesQty":12900}]}
    {"table":"liquidation","action":"update","data":[{"orderID":"e42d57c2-…","symbol":"XBTUSD",
     "price":88753.4,"leavesQty":21600}]}
    {"table":"liquidation","action":"delete","data":[{"orderID":"e42d57c2-…","symbol":"XBTUSD"}]}

Rules (docs/venues/bitmex.md):
- an `insert` (or a row of a `partial`, the snapshot sent on subscribe) is a liquidation of
  `leavesQty` contracts at `price`; an `update` whose `leavesQty` rises above the most this
  order has been counted at is one more liquidation of the INCREASE only (the engine merged
  another liquidated position into its resting order), at the update's price or, without
  one, the order's current price. Shrinking or price-only updates (fills, re-pricing),
  deletes and updates of orders never seen count nothing. Hence the parser keeps state;
- `side` is the ORDER side: `Sell` closes a long (long liquidated), `Buy` a short;
- there is no time on the wire: `ts` is the collector's receive time;
- the id is the venue's `orderID` plus the step (`first`, or the new counted level of a
  growth), so a replica or a reconnect's snapshot gives the same ids for the same steps;
- units come from `/api/v1/instrument/active` (`BitmexInstrument`): inverse
  `usd = contracts × |multiplier| ÷ 10⁸`; linear `coins = contracts ÷
  underlyingToPositionMultiplier`; quanto `coins = contracts × multiplier × XBT/USD ÷ 10⁸`
  with the live XBT/USD price (the `instrument:XBTUSD` table, else the listing's mark price).
  Contracts not quoted in a USD currency (`TRXZ19`, quoted in XBT) are out of scope: skipped.
Prices and sizes are JSON numbers: read as exact decimals, never through floats.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Final

from liqmon.collector.exactjson import load_exact, positive_number
from liqmon.collector.frames import (
    BadPart,
    FrameResult,
    MalformedFrame,
    SpecMissing,
    SpecSource,
    attempt,
    dump_part,
    instrument_field,
    open_frame,
    require,
    side_field,
    text_field,
)
from liqmon.collector.instruments import specs_by_name
from liqmon.collector.symbols import USD_QUOTES
from liqmon.collector.valuation import EXACT, EventBuilder, mul
from liqmon.event import InvalidEvent, LiquidationEvent, make_venue_event_id
from liqmon.logs import LogOnce

logger = logging.getLogger(__name__)

TABLE: Final = "liquidation"
#: The instrument whose price converts quanto contracts (settled in XBT) into coins.
XBT_PRICE_SYMBOL: Final = "XBTUSD"
_SIDES: Final = {"Sell": "long", "Buy": "short"}  # the liquidation ORDER's side
_SATOSHI: Final = Decimal(100_000_000)
#: Contract kind -> the margin its events carry (quanto contracts are XBT-margined).
_MARGINS: Final = {"inverse": "inverse", "linear": "linear", "quanto": "inverse"}
#: Orders remembered after their delete (a late update or snapshot row must not recount).
MAX_ORDERS: Final = 100_000


@dataclass(frozen=True, slots=True)
class BitmexInstrument:
    """What `/api/v1/instrument/active` tells us about one symbol."""

    kind: str  # "inverse" | "linear" | "quanto"
    underlying: str  # "XBT", "ETH"
    quote: str  # quoteCurrency
    multiplier: Decimal
    position_multiplier: Decimal | None  # underlyingToPositionMultiplier
    mark_price: Decimal | None = None

    @property
    def product(self) -> str:
        return f"bitmex-{self.kind}"


@dataclass(slots=True)
class _Order:
    symbol: str
    side: str  # long | short (already mapped)
    price: Decimal
    counted: Decimal  # the most contracts this order has been counted at


def coin_name(underlying: str) -> str:
    """BitMEX calls bitcoin XBT."""
    upper = underlying.upper()
    return "BTC" if upper == "XBT" else upper


class LiquidationParser:
    def __init__(self, specs: SpecSource[BitmexInstrument]) -> None:
        self._specs = specs
        self._orders: OrderedDict[str, _Order] = OrderedDict()
        #: XBT/USD from the `instrument:XBTUSD` table (mark price, else last price).
        self.xbt_usd: Decimal | None = None
        self._log = LogOnce(logger)
        self._events = {
            kind: EventBuilder("bitmex", "order", f"bitmex-{kind}", margin)
            for kind, margin in _MARGINS.items()
        }

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        if raw == "pong":
            result.control = "pong"
            return result
        msg = open_frame(raw, result, "bitmex", load_exact)
        if msg is None:
            return result
        table = msg.get("table")
        if table == TABLE:
            self._liquidation_table(msg, raw, recv_ts, result)
        elif table == "instrument":
            self._instrument_table(msg)
            result.control = "instrument"
        elif table is None:
            self._control(msg, raw, result)
        else:
            result.bad.append(BadPart(f"unexpected table {table!r:.40}", raw, "bitmex"))
        return result

    @staticmethod
    def _control(msg: dict[str, Any], raw: str, result: FrameResult) -> None:
        if "info" in msg and "version" in msg:
            result.control = "welcome"
        elif msg.get("success") is True:
            result.control = "ack"
        elif "error" in msg or msg.get("success") is False:
            result.error = f"bitmex error {msg.get('status')}: {str(msg.get('error'))[:300]}"
        else:
            result.bad.append(BadPart("neither a table frame nor a known reply", raw, "bitmex"))

    def _instrument_table(self, msg: dict[str, Any]) -> None:
        for row in msg.get("data") or ():
            if not isinstance(row, dict) or row.get("symbol") != XBT_PRICE_SYMBOL:
                continue
            for name in ("markPrice", "lastPrice"):
                try:
                    self.xbt_usd = positive_number(row.get(name), name)
                    break
                except (MalformedFrame, InvalidEvent):
                    continue

    def _liquidation_table(
        self, msg: dict[str, Any], raw: str, recv_ts: int, result: FrameResult
    ) -> None:
        action, data = msg.get("action"), msg.get("data")
        if action not in ("partial", "insert", "update", "delete"):
            result.bad.append(BadPart(f"unknown action {action!r:.40}", raw, "bitmex"))
            return
        if not isinstance(data, list):
            result.bad.append(BadPart("data: expected an array", raw, f"bitmex {action}"))
            return
        single = len(data) == 1
        for i, row in enumerate(data):
            part: Callable[[], str] = (
                (lambda: raw) if single else partial(dump_part, {**msg, "data": [row]})
            )
            context = f"bitmex {action} data[{i}]"
            try:
                step = self._apply(action, require(row, "data[]"))
            except (MalformedFrame, InvalidEvent) as exc:
                result.bad.append(BadPart(str(exc), part(), context))
                continue
            if step is not None:
                order_id, contracts, price, level = step
                if self._out_of_scope(order_id):
                    result.control = "out of scope"
                    continue
                build = partial(self._event, order_id, contracts, price, level, recv_ts)
                attempt(result, part, context, build, recv_ts)

    def _apply(self, action: str, row: dict[str, Any]) -> tuple[str, Decimal, Decimal, str] | None:
        """Update the order book state with one row; the liquidation it adds, if any:
        (orderID, contracts, price, step)."""
        order_id = text_field(row, "orderID")
        if len(order_id) > 64:  # a GUID: 36 characters
            raise MalformedFrame(f"orderID: longer than 64 characters ({len(order_id)})")
        order = self._orders.get(order_id)
        if action == "delete":
            return None
        if order is None:
            if action == "update":
                return None  # an order placed before we subscribed: its insert was not seen
            symbol = instrument_field(row, "symbol")
            side = side_field(row, "side", _SIDES)
            price, qty = (
                positive_number(row.get("price"), "price"),
                positive_number(row.get("leavesQty"), "leavesQty"),
            )
            self._remember(order_id, _Order(symbol, side, price, qty))
            return order_id, qty, price, "first"
        if "price" in row:
            order.price = positive_number(row.get("price"), "price")
        if "leavesQty" not in row:
            return None
        qty = (
            positive_number(row.get("leavesQty"), "leavesQty")
            if row["leavesQty"] != 0
            else Decimal(0)
        )
        if qty <= order.counted:
            return None  # fills (or a snapshot row we already counted)
        increase = qty - order.counted
        order.counted = qty
        return order_id, increase, order.price, format(qty, "f")

    def _out_of_scope(self, order_id: str) -> bool:
        """A contract with a known spec that is not quoted in a USD currency: a valid
        liquidation liqmon does not value (logged once per symbol, not dead-lettered)."""
        symbol = self._orders[order_id].symbol
        spec = self._specs.get(symbol)
        if spec is None or spec.quote.upper() in USD_QUOTES:
            return False
        self._log.warning(symbol, "bitmex %s is quoted in %s: not collected", symbol, spec.quote)
        return True

    def _remember(self, order_id: str, order: _Order) -> None:
        self._orders[order_id] = order
        if len(self._orders) > MAX_ORDERS:
            self._orders.popitem(last=False)

    def _event(
        self, order_id: str, contracts: Decimal, price: Decimal, step: str, recv_ts: int
    ) -> LiquidationEvent:
        order = self._orders.get(order_id)
        if order is None:  # evicted while held: the state it needs is gone
            raise MalformedFrame(f"order {order_id} no longer tracked")
        spec = self._specs.get(order.symbol)
        if spec is None:
            raise SpecMissing(order.symbol)
        if spec.quote.upper() not in USD_QUOTES:  # the spec arrived while it was held
            raise MalformedFrame(f"{order.symbol}: quoted in {spec.quote}, not in USD: skipped")
        if spec.kind == "inverse":
            amount = EXACT.divide(mul(contracts, abs(spec.multiplier)), _SATOSHI)
        elif spec.kind == "linear":
            if not spec.position_multiplier:
                raise MalformedFrame(f"{order.symbol}: no underlyingToPositionMultiplier")
            amount = EXACT.divide(contracts, spec.position_multiplier)
        else:
            xbt = self.xbt_usd or self._listing_xbt_usd()
            coins = EXACT.divide(mul(contracts, spec.multiplier, xbt), _SATOSHI)
            amount = mul(coins, price)  # XBT-margined: valued in USD
        event_id = make_venue_event_id("bitmex", order_id, step)
        # (a kind this parser does not know is valued as quanto; its product is refused)
        events = self._events.get(spec.kind) or EventBuilder("bitmex", "order", spec.product)
        base, ts = coin_name(spec.underlying), recv_ts  # BitMEX sends no time
        return events.event(
            order.symbol, base, order.side, price, amount, ts, recv_ts, event_id=event_id
        )

    def _listing_xbt_usd(self) -> Decimal:
        spec = self._specs.get(XBT_PRICE_SYMBOL)
        if spec is None or spec.mark_price is None:
            raise SpecMissing(f"{XBT_PRICE_SYMBOL} price")
        return spec.mark_price


def parse_instrument(entry: dict[str, Any]) -> BitmexInstrument | None:
    """One `/api/v1/instrument/active` object; None when it is not a usable future."""
    try:
        multiplier = Decimal(str(entry["multiplier"]))
        underlying, quote = str(entry["underlying"]), str(entry["quoteCurrency"])
    except (KeyError, ArithmeticError, TypeError, ValueError):
        return None
    if not underlying or not quote or not multiplier.is_finite() or multiplier == 0:
        return None
    kind = (
        "inverse" if entry.get("isInverse") is True
        else "quanto" if entry.get("isQuanto") is True
        else "linear"
    )  # fmt: skip
    upm = _decimal_or_none(entry.get("underlyingToPositionMultiplier"))
    mark = _decimal_or_none(entry.get("markPrice")) or _decimal_or_none(entry.get("lastPrice"))
    return BitmexInstrument(kind, underlying, quote, multiplier, upm, mark)


def _decimal_or_none(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() and number > 0 else None


def parse_instruments(doc: Any) -> dict[str, BitmexInstrument]:
    """The whole `/api/v1/instrument/active` array (read with `load_exact`)."""
    if not isinstance(doc, list):
        raise ValueError(f"instrument/active: expected an array, got {str(doc)[:200]}")
    return specs_by_name(doc, "symbol", parse_instrument)
