"""Deribit `trades.future.{currency}.100ms` notifications -> `LiquidationEvent`s.

Deribit publishes no liquidation feed: a liquidation is a trade carrying a `liquidation`
field (a real frame of 2020-03-13):

    {"jsonrpc":"2.0","method":"subscription","params":{"channel":"trades.BTC-PERPETUAL.raw",
     "data":[{"trade_seq":40781986,"trade_id":"66460463","timestamp":1584058044032,
     "price":4469.5,"liquidation":"T","instrument_name":"BTC-PERPETUAL","direction":"sell",
     "amount":1120,…}]}}

Rules (docs/venues/deribit.md):
- only trades with `liquidation` count; `direction` is the TAKER's side. `T`: the taker was
  liquidated, its order side is `direction`; `M`: the maker was, its order side is the
  opposite of `direction`; `MT`: both, two events (the maker's first). A liquidation order
  that sells closes a long: order side `sell` => long liquidated, `buy` => short;
- `amount` is USD for inverse contracts (`usd = amount`, `qty = amount / price`) and coins
  for linear ones (`qty = amount`, `usd = amount × price`); which one an instrument is comes
  from `public/get_instruments` (`DeribitInstrument`), never from its name alone;
- `ts` = `timestamp` (ms); id = `trade_id` (unique per currency) + instrument + the party
  (`M`/`T`), so an `MT` trade's two events have two ids and a re-sent trade the same ones.
Prices and sizes are JSON numbers: read as exact decimals, never through floats.

Non-event frames: JSON-RPC results (`public/subscribe`, `public/set_heartbeat`,
`public/test`), `heartbeat` notifications and errors. A `heartbeat` of type `test_request`
must be answered with `public/test`: the parser reports it (`control = "test_request"`)
and calls `on_test_request`, which the venue wires to its connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    load_json,
    ms_field,
    open_frame,
    text_field,
)
from liqmon.collector.instruments import listed_objects, specs_by_name
from liqmon.collector.valuation import EventBuilder
from liqmon.event import LiquidationEvent, make_venue_event_id

PRODUCTS: Final = {"inverse": "deribit-inverse", "linear": "deribit-linear"}
#: Order side of the liquidated party -> the position it closed.
_CLOSES: Final = {"sell": "long", "buy": "short"}
_OPPOSITE: Final = {"sell": "buy", "buy": "sell"}
#: `liquidation` value -> the liquidated parties, in the order their events are emitted.
PARTIES: Final = {"M": ("M",), "T": ("T",), "MT": ("M", "T")}


@dataclass(frozen=True, slots=True)
class DeribitInstrument:
    """What `public/get_instruments` tells us about one future."""

    margin: str  # "inverse" (amount in USD) | "linear" (amount in coins)
    base: str  # base_currency, e.g. "BTC"


def liquidated_side(direction: str, party: str) -> str:
    """The position liquidated: the taker's order side is `direction`, the maker's its
    opposite; a liquidation order that sells closes a long."""
    order_side = direction if party == "T" else _OPPOSITE[direction]
    return _CLOSES[order_side]


class TradesParser:
    def __init__(
        self,
        specs: SpecSource[DeribitInstrument],
        on_test_request: Callable[[], None] | None = None,
    ) -> None:
        self._specs = specs
        self._on_test_request = on_test_request
        self._events = {m: EventBuilder("deribit", "fill", p, m) for m, p in PRODUCTS.items()}

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        # Most frames are batches of ordinary trades (no number of theirs is read): only a
        # frame that may hold a liquidation pays for exact-decimal parsing.
        msg = open_frame(
            raw, result, "deribit", load_exact if '"liquidation"' in raw else load_json
        )
        if msg is None:
            return result
        method = msg.get("method")
        if method == "subscription":
            self._trades(msg, raw, recv_ts, result)
        elif method == "heartbeat":
            params = msg.get("params")
            if isinstance(params, dict) and params.get("type") == "test_request":
                result.control = "test_request"
                if self._on_test_request is not None:
                    self._on_test_request()
            else:
                result.control = "heartbeat"
        elif "error" in msg:
            error = msg["error"] if isinstance(msg["error"], dict) else {}
            result.error = f"deribit error {error.get('code')}: {str(error.get('message'))[:300]}"
        elif "result" in msg:
            result.control = "result"
        else:
            result.bad.append(BadPart("neither a notification nor a reply", raw, "deribit"))
        return result

    def _trades(self, msg: dict[str, Any], raw: str, recv_ts: int, result: FrameResult) -> None:
        params = msg.get("params")
        if not isinstance(params, dict):
            params = {}
        data, channel = params.get("data"), str(params.get("channel", "?"))[:80]
        if not isinstance(data, list):
            result.bad.append(BadPart("params.data: expected an array", raw, channel))
            return
        single = len(data) == 1
        for i, trade in enumerate(data):
            if isinstance(trade, dict) and trade.get("liquidation") is None:
                continue  # an ordinary trade
            part: Callable[[], str] = (
                (lambda: raw)
                if single
                else partial(dump_part, {**msg, "params": {**params, "data": [trade]}})
            )
            flag = trade.get("liquidation") if isinstance(trade, dict) else None
            parties = PARTIES.get(flag) if isinstance(flag, str) else None
            if parties is None:
                reason = f"liquidation: expected M, T or MT, got {flag!r:.20}"
                result.bad.append(BadPart(reason, part(), f"{channel} data[{i}]"))
                continue
            for party in parties:
                build = partial(self._event, trade, party, recv_ts)
                attempt(result, part, f"{channel} data[{i}] {party}", build, recv_ts)

    def _event(self, trade: dict[str, Any], party: str, recv_ts: int) -> LiquidationEvent:
        instrument = instrument_field(trade, "instrument_name")
        direction = trade.get("direction")
        if direction not in _CLOSES:
            raise MalformedFrame(f"direction: expected buy or sell, got {direction!r:.40}")
        side = liquidated_side(str(direction), party)
        trade_id = text_field(trade, "trade_id")
        price, amount = (
            positive_number(trade.get("price"), "price"),
            positive_number(trade.get("amount"), "amount"),
        )
        ts = ms_field(trade, "timestamp")
        spec = self._specs.get(instrument)
        if spec is None:
            raise SpecMissing(instrument)
        event_id = make_venue_event_id("deribit", instrument, trade_id, party)
        events = self._events[spec.margin]
        return events.event(
            instrument, spec.base, side, price, amount, ts, recv_ts, event_id=event_id
        )


def parse_instrument(entry: dict[str, Any]) -> DeribitInstrument | None:
    """One `get_instruments` object; None when it is not a future liqmon can value.

    Linear: `instrument_type`/`future_type` "linear" (USDC/USDT-settled, amount in coins);
    inverse: "reversed", or - in older answers without those fields - quoted in USD and
    settled in the base coin (amount in USD).
    """
    base, quote = entry.get("base_currency"), entry.get("quote_currency")
    if entry.get("kind") not in (None, "future") or not isinstance(base, str) or not base:
        return None
    kind = entry.get("instrument_type") or entry.get("future_type")
    if kind == "linear":
        return DeribitInstrument("linear", base.upper())
    if kind == "reversed" or (kind is None and quote == "USD"):
        return DeribitInstrument("inverse", base.upper())
    return None


def parse_instruments(doc: Any) -> dict[str, DeribitInstrument]:
    """`{"jsonrpc":"2.0","result":[…]}` (or the bare array) -> specs by instrument name."""
    rows = doc.get("result") if isinstance(doc, dict) else doc
    listed = listed_objects(doc, "get_instruments", rows)
    return specs_by_name(listed, "instrument_name", parse_instrument)
