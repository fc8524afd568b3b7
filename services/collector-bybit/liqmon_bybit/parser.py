"""Bybit `allLiquidation.{symbol}` frames -> `LiquidationEvent`s (linear and inverse).

A real frame (2026-10-09), two liquidations batched in one 500 ms push:

    {"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1791565601482,"data":[
     {"T":1791565600992,"s":"BTCUSDT","S":"Buy","v":"0.006","p":"82396.90"},
     {"T":1791565601058,"s":"BTCUSDT","S":"Buy","v":"0.038","p":"82394.30"}]}

Rules (docs/venues/bybit.md):
- every `data[]` element is one liquidation; its time is `data[].T` (not the push's `ts`);
- `S` is the POSITION side: `Buy` means a long was liquidated, `Sell` a short. This is the
  opposite of Binance's and OKX's order side and the most common bug in other tools;
- linear: `v` is coins, `qty = v`, `usd = v × p`; inverse: `v` is USD (1-USD contracts),
  `usd = v`, `qty = v / p` rounded half-even to 8 decimals (as Binance COIN-M and OKX inverse);
  that unit is inferred, so it is checked against the listing's `qtyStep` while running
  (`inverse_unit`), which may switch the reading to coins (`usd = v × p`); the id is over
  `v` either way;
- `p` is the bankruptcy price; `sampled` is false: Bybit pushes every liquidation.
The product is the connection's (`/linear` or `/inverse`): the frame does not say. The coin
is the instrument listing's `baseCoin` (multiplier prefixes such as `1000PEPE` split off and
multiplied into the quantity); a symbol missing from the listing - a frame racing a refresh -
is not held, because its USD value needs no spec: the coin comes from the symbol's name.

Non-event frames: the pong `{"success":true,"ret_msg":"pong","op":"ping"}`, subscribe and
unsubscribe acks, and refusals (`"success":false`, reported as venue errors; a refused live
subscription - `req_id` starting with `live-` - asks for a fresh connection, whose subscribe
hook then finds and leaves out the refused topic until the venue's retry).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Final

from liqmon.collector.frames import (
    BadPart,
    FlatRecord,
    FrameResult,
    MalformedFrame,
    SpecSource,
    attempt_each,
    dump_part,
    open_frame,
    require,
)
from liqmon.collector.instruments import listed_objects
from liqmon.collector.symbols import USD_QUOTES, strip_usd_quote
from liqmon.collector.valuation import EventBuilder
from liqmon.event import InvalidEvent, LiquidationEvent, parse_decimal
from liqmon_bybit.inverse_unit import InverseUnit

TOPIC_PREFIX: Final = "allLiquidation."
CATEGORIES: Final = ("linear", "inverse")
PRODUCTS: Final = {"linear": "bybit-linear", "inverse": "bybit-inverse"}
#: req_id prefix of subscriptions sent on a live connection (new listings).
LIVE_PREFIX: Final = "live-"
_SIDES: Final = {"Buy": "long", "Sell": "short"}  # position side (docs/venues/bybit.md)
_RECORD: Final = FlatRecord("s", "S", _SIDES, "v", "p", "T")
_INVERSE_DATED: Final = re.compile(r"^(.+?)USD[FGHJKMNQUVXZ]\d{2}$")  # BTCUSDH25


@dataclass(frozen=True, slots=True)
class BybitInstrument:
    """What the listing (`/v5/market/instruments-info`) tells us about one symbol."""

    category: str  # "linear" | "inverse"
    base: str  # baseCoin, e.g. "1000PEPE"
    quote: str  # quoteCoin
    status: str  # "Trading", "PreLaunch", "Delivering", "Closed"
    #: lotSizeFilter.qtyStep: the order size step (inverse: of the contracts `v` should
    #: count); None when the listing does not give a positive decimal
    qty_step: Decimal | None = None


def topic(symbol: str) -> str:
    return TOPIC_PREFIX + symbol


def coin_from_symbol(symbol: str) -> str:
    """The base coin by Bybit's naming, for a symbol the listing does not (yet) show:
    `BTCUSDT`, `BTCPERP` (USDC perpetual), `BTC-26DEC25`, `BTCUSDT-26DEC25`, `BTCUSD`,
    `BTCUSDH25` (inverse dated)."""
    head = symbol.split("-", 1)[0]
    dated = _INVERSE_DATED.match(head)
    if dated:
        return dated.group(1)
    if head.endswith("PERP") and len(head) > 4:
        return head[:-4]
    base = strip_usd_quote(head)
    if base:
        return base
    if "-" in symbol and head:
        return head
    raise MalformedFrame(f"{symbol}: not quoted in a USD currency and not in the listing")


class AllLiquidationParser:
    def __init__(
        self,
        category: str,
        specs: SpecSource[BybitInstrument],
        inverse_unit: InverseUnit | None = None,
    ) -> None:
        if category not in PRODUCTS:
            raise ValueError(f"unknown Bybit category {category!r}")
        self.category = category
        self.product = PRODUCTS[category]
        self._specs = specs
        self._events = EventBuilder("bybit", "bankruptcy", self.product, category)
        #: the inverse `v` unit in force and its evidence (None on the linear feed)
        self.inverse_unit = (inverse_unit or InverseUnit()) if category == "inverse" else None

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        msg = open_frame(raw, result, "bybit")
        if msg is None:
            return result
        if "op" in msg:
            self._op_frame(msg, raw, result)
            return result
        name, data = msg.get("topic"), msg.get("data")
        if not isinstance(name, str) or not name.startswith(TOPIC_PREFIX):
            result.bad.append(BadPart("not an allLiquidation push", raw, "bybit"))
            return result
        label = f"{name[:80]!r}"
        if not isinstance(data, list) or not data:
            result.bad.append(BadPart("data: expected a non-empty array", raw, label))
            return result
        one_entry = partial(_one_entry, name)
        attempt_each(result, raw, data, f"{label} data", self._event, recv_ts, one_entry)
        return result

    @staticmethod
    def _op_frame(msg: dict[str, Any], raw: str, result: FrameResult) -> None:
        op, ok = msg.get("op"), msg.get("success")
        if op == "pong" or (op == "ping" and ok is True):
            result.control = "pong"
        elif op in ("subscribe", "unsubscribe") and ok is True:
            result.control = "ack"
        elif op in ("subscribe", "unsubscribe", "ping") and ok is False:
            req_id = str(msg.get("req_id") or "")
            result.error = f"bybit refused {op} {req_id!r:.40}: {msg.get('ret_msg')!r:.300}"
            result.reconnect = op == "subscribe" and req_id.startswith(LIVE_PREFIX)
        else:
            result.bad.append(BadPart(f"unknown op frame {op!r:.40}", raw, "bybit"))

    def _event(self, entry: object, recv_ts: int) -> LiquidationEvent:
        fields = require(entry, "data[]")
        symbol, side, size, price, ts = _RECORD.read(fields)
        spec = self._specs.get(symbol)
        base = self._base(symbol, spec)
        unit = self.inverse_unit
        if unit is None:
            return self._events.event(symbol, base, side, price, size, ts, recv_ts)
        build = partial(self._events.event, symbol, base, side, price)
        event = build(unit.usd_value(size, price), ts, recv_ts, qty_venue=size)
        if unit.observe(size, price, spec.qty_step if spec else None, recv_ts):
            # its own vote switched the unit: valued by the new one (the same id)
            event = build(unit.usd_value(size, price), ts, recv_ts, qty_venue=size)
        return event

    @staticmethod
    def _base(symbol: str, spec: BybitInstrument | None) -> str:
        if spec is None:
            return coin_from_symbol(symbol)
        if spec.quote.upper() not in USD_QUOTES:
            raise MalformedFrame(f"{symbol}: quote {spec.quote!r:.20} is not a USD currency")
        return spec.base


def _one_entry(topic: str, entry: object) -> str:
    return dump_part({"topic": topic, "data": [entry]})


def parse_instruments_page(doc: Any, category: str) -> tuple[dict[str, BybitInstrument], str]:
    """One page of `GET /v5/market/instruments-info` -> (instruments by symbol, next cursor).

    `{"retCode":0,"result":{"category":"linear","list":[{"symbol","baseCoin","quoteCoin",
    "status",…}],"nextPageCursor":"…"}}`; the cursor is "" on the last page. Entries without
    a symbol or coins are skipped.
    """
    result: Any = doc.get("result") if isinstance(doc, dict) else None
    rows = result.get("list") if isinstance(result, dict) else None
    ok = isinstance(doc, dict) and doc.get("retCode") in (0, "0")
    out: dict[str, BybitInstrument] = {}
    for entry in listed_objects(doc, "instruments-info", rows, ok):
        symbol, base, quote = entry.get("symbol"), entry.get("baseCoin"), entry.get("quoteCoin")
        if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (symbol, base, quote)):
            continue
        status = entry.get("status")
        out[str(symbol)] = BybitInstrument(
            category,
            str(base),
            str(quote),
            status if isinstance(status, str) else "",
            _qty_step(entry.get("lotSizeFilter")),
        )
    cursor = result.get("nextPageCursor")
    return out, cursor if isinstance(cursor, str) else ""


def _qty_step(lot_size: object) -> Decimal | None:
    step = lot_size.get("qtyStep") if isinstance(lot_size, dict) else None
    try:
        return parse_decimal(step, "qtyStep") if isinstance(step, str) else None
    except InvalidEvent:
        return None
