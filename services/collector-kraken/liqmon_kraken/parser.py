"""Kraken Futures `trade` feed frames -> `LiquidationEvent`s (inverse and linear).

Kraken Futures has no liquidation channel: a liquidation is a trade with
`"type":"liquidation"` (a real one, 2020-07-01):

    {"feed":"trade","product_id":"PI_XRPUSD","uid":"3ee209b8-…","side":"sell",
     "type":"liquidation","seq":41799,"time":1593561965283,"qty":12000,"price":0.1736}

Rules (docs/venues/kraken.md):
- only `type == "liquidation"` counts (`fill`, `block` and `termination` do not);
- `side` is the taker's side, taken as the liquidated account's order side (the engine's
  closing order takes liquidity): `sell` ⇒ long liquidated, `buy` ⇒ short. Kraken does not
  state it; the docs say so;
- `PI_`/`FI_` (inverse): `qty` is contracts of `contractSize` USD: `usd = qty × contractSize`,
  coins = usd / price (8 decimals); `PF_`/`FF_` (linear): `qty` is contracts of `contractSize`
  coins: `usd = qty × contractSize × price`. `contractSize` comes from the instrument list;
  a product it does not list is held until it does (never guessed);
- the coin is the product id between `_` and its USD quote (`PI_XBTUSD` ⇒ XBT ⇒ BTC);
- `time` is ms; the event id is over `uid`, so a liquidation repeated inside a later
  `trade_snapshot` (the history sent after each subscription) is one event.
Numbers are JSON numbers here: liquidation frames are decoded with `loads_exact`, never
through binary floats. Ordinary trades (most frames) are recognised without that second
decoding.
"""

from __future__ import annotations

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
    ms_field,
    open_frame,
    require,
    side_field,
    text_field,
)
from liqmon.collector.instruments import listed_objects
from liqmon.collector.valuation import EventBuilder, mul
from liqmon.event import InvalidEvent, LiquidationEvent, make_venue_event_id

EXCHANGE: Final = "kraken"
FEED: Final = "trade"
SNAPSHOT: Final = "trade_snapshot"
LIQUIDATION: Final = "liquidation"
#: Product id prefix -> (product, margin).
PREFIXES: Final = {
    "PI": ("kraken-inverse", "inverse"),
    "FI": ("kraken-inverse", "inverse"),
    "PF": ("kraken-linear", "linear"),
    "FF": ("kraken-linear", "linear"),
}
_QUOTES: Final = ("USDT", "USDC", "USD")
_SIDES: Final = {"sell": "long", "buy": "short"}  # taker side = liquidated order side [I]
#: Kraken's own names of coins that everyone else spells differently.
COIN_ALIASES: Final = {"XBT": "BTC"}
_EVENT_ACKS: Final = ("info", "subscribed", "unsubscribed", "pong", "heartbeat")
_EVENT_ERRORS: Final = ("error", "alert", "subscribed_failed", "unsubscribed_failed")


@dataclass(frozen=True, slots=True)
class KrakenInstrument:
    """What `/derivatives/api/v3/instruments` says about one product."""

    symbol: str  # upper case, as on the websocket ("PI_XBTUSD")
    kind: str  # "futures_inverse", "flexible_futures", …
    contract_size: Decimal
    tradeable: bool


def product_of(product_id: str) -> tuple[str, str, str]:
    """`PI_XBTUSD` -> ("kraken-inverse", "inverse", "BTC"); `FI_XBTUSD_210625` and
    `PF_ETHUSD` likewise. Other prefixes (indices `IN_`, `RR_`) are not contracts."""
    parts = product_id.upper().split("_")
    if len(parts) < 2 or parts[0] not in PREFIXES:
        raise MalformedFrame(f"{product_id}: not a PI_/FI_/PF_/FF_ product")
    # Kraken quotes in USD (`XBTUSD`): the generic quote list would read `…TUSD` as TrueUSD.
    quote = next((q for q in _QUOTES if parts[1].endswith(q) and len(parts[1]) > len(q)), "")
    base = parts[1][: -len(quote)] if quote else ""
    if not base:
        raise MalformedFrame(f"{product_id}: not quoted in USD")
    product, margin = PREFIXES[parts[0]]
    return product, margin, COIN_ALIASES.get(base, base)


def wanted(product_id: str) -> bool:
    """A product the collector subscribes: a contract of a product family it values."""
    try:
        product_of(product_id)
    except MalformedFrame:
        return False
    return True


class TradeParser:
    def __init__(self, specs: SpecSource[KrakenInstrument]) -> None:
        self._specs = specs
        self._events = {p: EventBuilder(EXCHANGE, "fill", p, m) for p, m in PREFIXES.values()}

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        msg = open_frame(raw, result, EXCHANGE)
        if msg is None:
            return result
        feed, event = msg.get("feed"), msg.get("event")
        if isinstance(event, str):
            self._event_frame(event.strip(), msg, raw, result)
        elif feed in (FEED, SNAPSHOT):
            result.control = str(feed)
            if LIQUIDATION in raw:  # only then is the exact second decoding worth it
                self._trades(str(feed), raw, recv_ts, result)
        elif feed == "heartbeat":
            result.control = "heartbeat"
        else:
            result.bad.append(BadPart(f"unknown frame (feed {feed!r:.40})", raw, EXCHANGE))
        return result

    @staticmethod
    def _event_frame(event: str, msg: dict[str, Any], raw: str, result: FrameResult) -> None:
        if event in _EVENT_ACKS:
            result.control = event
        elif event in _EVENT_ERRORS:
            what = msg.get("message") or msg.get("product_ids") or ""
            result.error = f"kraken {event}: {what!r:.300}"
        else:
            result.bad.append(BadPart(f"unknown event {event!r:.40}", raw, EXCHANGE))

    def _trades(self, feed: str, raw: str, recv_ts: int, result: FrameResult) -> None:
        try:
            msg = require(load_exact(raw), "frame")
            trades = [msg] if feed == FEED else msg.get("trades")
            if not isinstance(trades, list):
                raise MalformedFrame("trades: expected an array")
        except MalformedFrame as exc:
            result.bad.append(BadPart(str(exc), raw, EXCHANGE))
            return
        single = feed == FEED
        for i, trade in enumerate(trades):
            if isinstance(trade, dict) and trade.get("type") != LIQUIDATION:
                continue
            part = (lambda: raw) if single else partial(dump_part, trade)
            build = partial(self._liquidation, trade, recv_ts)
            attempt(result, part, f"{feed}[{i}]", build, recv_ts)

    def _liquidation(self, trade: object, recv_ts: int) -> LiquidationEvent:
        fields = require(trade, "trade")
        product_id = instrument_field(fields, "product_id")
        product, _, coin = product_of(product_id)
        side = side_field(fields, "side", _SIDES)
        qty = positive_number(fields.get("qty"), "qty")
        price = positive_number(fields.get("price"), "price")
        ts = ms_field(fields, "time")
        uid = text_field(fields, "uid")[:128]
        spec = self._specs.get(product_id.upper())
        if spec is None:
            raise SpecMissing(product_id)
        amount = mul(qty, spec.contract_size)  # USD (inverse) or coins (linear)
        event_id = make_venue_event_id(EXCHANGE, product_id, uid)
        events = self._events[product]
        return events.event(product_id, coin, side, price, amount, ts, recv_ts, event_id=event_id)


def parse_instruments(doc: Any) -> dict[str, KrakenInstrument]:
    """`GET /derivatives/api/v3/instruments` -> instruments by upper-case symbol.

    `{"result":"success","instruments":[{"symbol":"pi_xbtusd","type":"futures_inverse",
    "contractSize":1,"tradeable":true,…}]}` (2021 symbols are lower case; the websocket
    uses upper case). Entries without a symbol or a positive contractSize are skipped.
    """
    listed = doc.get("instruments") if isinstance(doc, dict) else None
    ok = isinstance(doc, dict) and doc.get("result") == "success"
    out: dict[str, KrakenInstrument] = {}
    for entry in listed_objects(doc, "instruments", listed, ok):
        symbol = entry.get("symbol")
        try:  # the body is read with `load_exact`: contract sizes are the digits Kraken sent
            size = positive_number(entry.get("contractSize"), "contractSize")
        except InvalidEvent:
            continue
        if not isinstance(symbol, str) or not 0 < len(symbol) <= 64:
            continue
        kind = entry.get("type")
        out[symbol.upper()] = KrakenInstrument(
            symbol.upper(),
            kind if isinstance(kind, str) else "",
            size,
            entry.get("tradeable") is not False,
        )
    return out
