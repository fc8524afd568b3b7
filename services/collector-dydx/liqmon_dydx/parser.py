"""dYdX v4 indexer `v4_trades` frames -> `LiquidationEvent`s.

dYdX has no liquidation channel: a liquidation is a trade whose `type` is `LIQUIDATED`
("fill with a liquidated taker order"). A frame (the indexer's documented example):

    {"type":"channel_data","id":"BTC-USD","channel":"v4_trades","version":"1.1.0",
     "contents":{"trades":[{"id":"8ee6d90d-…","size":"0.000100431","price":"27839",
       "side":"BUY","createdAt":"2023-04-04T00:29:19.353Z","type":"LIQUIDATED"}, …]}}

Rules (docs/venues/dydx.md):
- only `type == "LIQUIDATED"` counts (`LIMIT`, `DELEVERAGED` (ADL), `TWAP_SUBORDER` do not);
- `side` is the liquidated taker's: `SELL` closed a long (long liquidated), `BUY` a short;
- `size` is coins of the market's base asset, `price` the fill price in USD (USDC
  margined, linear): `usd = size × price`; a dust fill (1e-9 BTC) is $0.00 and still counts;
- the event time is `createdAt` (ISO-8601, UTC) in ms; the event id is over the trade `id`
  (the taker fill id), so one liquidation filled against several makers at the same price
  and size stays several events, and a trade seen twice is one;
- the `subscribed` reply carries recent history (`contents.trades`): its liquidations are
  parsed like live ones (the stream refuses an id it already holds), which
  recovers what a reconnect missed; `channel_batch_data` carries a list of `{trades}`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Final

from liqmon.collector.frames import (
    BadPart,
    FrameResult,
    MalformedFrame,
    attempt,
    dump_part,
    instrument_field,
    open_frame,
    require,
    side_field,
    text_field,
)
from liqmon.collector.symbols import USD_QUOTES
from liqmon.collector.valuation import EventBuilder
from liqmon.event import LiquidationEvent, make_venue_event_id, parse_decimal

EXCHANGE: Final = "dydx"
PRODUCT: Final = "dydx-perpetual"
CHANNEL: Final = "v4_trades"
LIQUIDATED: Final = "LIQUIDATED"
_SIDES: Final = {"SELL": "long", "BUY": "short"}  # the liquidated taker's order side
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
_DATA_TYPES: Final = ("subscribed", "channel_data", "channel_batch_data")
_EVENTS: Final = EventBuilder(EXCHANGE, "fill", PRODUCT, "linear")


def iso_ms(text: object, name: str = "createdAt") -> int:
    """`2023-04-04T00:29:19.353Z` -> 1680568159353 (exact integer arithmetic, UTC only)."""
    if not isinstance(text, str) or not 10 <= len(text) <= 40:
        raise MalformedFrame(f"{name}: expected an ISO-8601 time, got {text!r:.60}")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedFrame(f"{name}: not an ISO-8601 time: {text!r:.60}") from None
    if when.tzinfo is None:
        raise MalformedFrame(f"{name}: time without a zone: {text!r:.60}")
    return (when - _EPOCH) // _MS


def market_coin(market: str) -> str:
    """`BTC-USD` -> `BTC`; a market not quoted in USD has no USD value."""
    base, _, quote = market.rpartition("-")
    if not base or quote.upper() not in USD_QUOTES:
        raise MalformedFrame(f"{market}: not a <coin>-USD market")
    return base


class TradesParser:
    """Every `v4_trades` frame of one connection (any market): stateless."""

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        msg = open_frame(raw, result, EXCHANGE)
        if msg is None:
            return result
        kind = msg.get("type")
        if kind in _DATA_TYPES:
            self._trades_frame(msg, str(kind), raw, recv_ts, result)
        elif kind in ("connected", "unsubscribed", "pong"):
            result.control = str(kind)
        elif kind == "error":
            where = f"{msg.get('channel') or ''} {msg.get('id') or ''}".strip()
            result.error = f"dydx error {where!r:.80}: {msg.get('message')!r:.300}"
        else:
            result.bad.append(BadPart(f"unknown frame type {kind!r:.40}", raw, EXCHANGE))
        return result

    def _trades_frame(
        self, msg: dict[str, Any], kind: str, raw: str, recv_ts: int, result: FrameResult
    ) -> None:
        try:
            if msg.get("channel") != CHANNEL:
                raise MalformedFrame(f"channel: expected {CHANNEL}, got {msg.get('channel')!r:.40}")
            market = instrument_field(msg, "id")
            batches = msg.get("contents")
            if kind == "channel_batch_data":
                if not isinstance(batches, list):
                    raise MalformedFrame("contents: expected an array of {trades}")
            else:
                batches = [batches]
            trades: list[object] = []
            for batch in batches:
                listed = require(batch, "contents").get("trades")
                if not isinstance(listed, list):
                    raise MalformedFrame("contents.trades: expected an array")
                trades += listed
        except MalformedFrame as exc:
            result.bad.append(BadPart(str(exc), raw, EXCHANGE))
            return
        result.control = kind
        label = f"{market[:40]!r} {kind}"
        for i, trade in enumerate(trades):
            if isinstance(trade, dict) and trade.get("type") != LIQUIDATED:
                continue  # an ordinary fill (or the old schema's untyped history)
            part = partial(
                dump_part, {"type": kind, "channel": CHANNEL, "id": market, "trade": trade}
            )
            build = partial(self._event, market, trade, recv_ts)
            attempt(result, part, f"{label} trades[{i}]", build, recv_ts)

    @staticmethod
    def _event(market: str, trade: object, recv_ts: int) -> LiquidationEvent:
        fields = require(trade, "trade")
        size = parse_decimal(fields.get("size"), "size")
        price = parse_decimal(fields.get("price"), "price")
        base, side = market_coin(market), side_field(fields, "side", _SIDES)
        ts = iso_ms(fields.get("createdAt"))
        event_id = make_venue_event_id(EXCHANGE, market, text_field(fields, "id")[:128])
        return _EVENTS.event(market, base, side, price, size, ts, recv_ts, event_id=event_id)


def parse_markets(doc: Any) -> dict[str, str]:
    """`GET /v4/perpetualMarkets` -> {ticker: status}: `{"markets":{"BTC-USD":{"ticker":
    "BTC-USD","status":"ACTIVE",…},…}}`. Entries without a usable ticker are skipped."""
    markets = doc.get("markets") if isinstance(doc, dict) else None
    if not isinstance(markets, dict):
        raise ValueError(f"perpetualMarkets: unexpected response {str(doc)[:200]}")
    out: dict[str, str] = {}
    for key, entry in markets.items():
        ticker = entry.get("ticker", key) if isinstance(entry, dict) else None
        if isinstance(ticker, str) and 0 < len(ticker) <= 64:
            status = entry.get("status") if isinstance(entry, dict) else None
            out[ticker] = status if isinstance(status, str) else ""
    return out
