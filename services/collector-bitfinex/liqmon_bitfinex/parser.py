"""Bitfinex `status` channel, key `liq:global` -> `LiquidationEvent`s (derivatives only).

Frames after the subscription carry the numeric channel id (a real one, 2020):

    [386841,[["pos",143683674,1593522802742,null,"tBTCF0:USTF0",0.00268657,
      9135.972557016,null,0,1,null,9080]],7,1593566593351]

Record layout: `["pos", POS_ID, MTS, _, SYMBOL, AMOUNT, BASE_PRICE, _, IS_MATCH,
IS_MARKET_SOLD, _, LIQUIDATION_PRICE]`. Rules (docs/venues/bitfinex.md):
- one liquidated position = one trigger record (`IS_MATCH == 0`, `AMOUNT` = the whole
  position) and zero or more match records (`IS_MATCH == 1`, the parts executed, possibly
  before the trigger on the wire). Only the trigger counts; the event id is over `POS_ID`,
  so a re-sent trigger (the snapshot sent first after subscribing) is one event;
- `AMOUNT` is the signed position in coins: `> 0` ⇒ long liquidated, `< 0` ⇒ short, at any
  size (aggr's `> 1` threshold calls small longs shorts); `qty = |AMOUNT|`;
- price = `BASE_PRICE`, the position's entry price (`price_kind` `base_price`: the only price
  present on every trigger), `usd = qty × BASE_PRICE` (USDt counted 1:1);
- only perpetuals quoted in USDt (`t<COIN>F0:USTF0`) are valued; spot-margin pairs
  (`tBSVUSD`), BTC-quoted and test perpetuals are not liquidations of a USD contract and
  give no event; `MTS` may carry a fraction: its integer part is the time in ms.
Trailing members (the `SEQ_ALL`/`TIMESTAMP` flags' sequence and time) are ignored. Numbers
are JSON numbers: frames are decoded with `loads_exact`, never through binary floats.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Decimal
from functools import partial
from typing import Final

from liqmon.collector.exactjson import load_exact, positive_number, signed_number
from liqmon.collector.frames import (
    BadPart,
    FrameResult,
    MalformedFrame,
    attempt,
    dump_part,
    open_frame,
)
from liqmon.collector.valuation import EventBuilder
from liqmon.event import MAX_TS_MS, LiquidationEvent, make_venue_event_id

EXCHANGE: Final = "bitfinex"
PRODUCT: Final = "bitfinex-perpetual"
CHANNEL: Final = "status"
KEY: Final = "liq:global"
_PERPETUAL: Final = re.compile(r"^t([A-Z0-9]{2,20}?)F0:USTF0$")
#: Bitfinex's own 3-letter codes for coins every other venue spells out (its
#: `conf/pub:map:currency:sym` list); a code not listed here is taken as the coin.
COIN_ALIASES: Final = {
    "ALG": "ALGO", "ATO": "ATOM", "DSH": "DASH", "IOT": "IOTA", "MNA": "MANA",
    "QTM": "QTUM", "UDC": "USDC", "UST": "USDT", "WBT": "WBTC",
}  # fmt: skip
#: `info` codes asking the client to reconnect: 20051 server restart, 20061 maintenance over.
RECONNECT_CODES: Final = frozenset({20051, 20061})
_EVENTS: Final = EventBuilder(EXCHANGE, "base_price", PRODUCT, "linear")


def perpetual_coin(symbol: str) -> str | None:
    """`tBTCF0:USTF0` -> `BTC`; None for anything that is not a USDt perpetual."""
    match = _PERPETUAL.match(symbol)
    if match is None or match.group(1).startswith("TEST"):
        return None
    code = match.group(1)
    return COIN_ALIASES.get(code, code)


class StatusParser:
    """The `liq:global` frames of one connection (it subscribes nothing else)."""

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        if raw.lstrip().startswith("{"):
            self._event_frame(raw, result)
            return result
        try:
            msg = load_exact(raw)
            if not isinstance(msg, list) or len(msg) < 2 or type(msg[0]) is not int:
                raise MalformedFrame("expected [CHAN_ID, …]")
        except MalformedFrame as exc:
            result.bad.append(BadPart(str(exc), raw, EXCHANGE))
            return result
        body = msg[1]
        if body == "hb":
            result.control = "hb"
            return result
        if not isinstance(body, list):
            result.bad.append(BadPart("expected [CHAN_ID, [records]]", raw, EXCHANGE))
            return result
        records = [body] if body and body[0] == "pos" else body
        result.control = "pos"
        for i, record in enumerate(records):
            if not _counted(record):
                continue
            part = (lambda: raw) if len(records) == 1 else partial(_record_text, msg[0], record)
            build = partial(_event, record, recv_ts)
            attempt(result, part, f"{KEY} [{i}]", build, recv_ts)
        return result

    @staticmethod
    def _event_frame(raw: str, result: FrameResult) -> None:
        msg = open_frame(raw, result, EXCHANGE)
        if msg is None:
            return
        event = msg.get("event")
        if event == "info" and msg.get("code") in RECONNECT_CODES:
            result.error = f"bitfinex info {msg.get('code')}: {msg.get('msg')!r:.200}"
            result.reconnect = True
        elif event in ("info", "subscribed", "conf", "pong", "unsubscribed"):
            result.control = str(event)
        elif event == "error":
            result.error = f"bitfinex error {msg.get('code')}: {msg.get('msg')!r:.300}"
        else:
            result.bad.append(BadPart(f"unknown event {event!r:.40}", raw, EXCHANGE))


def _counted(record: object) -> bool:
    """False for what is not a liquidation of a USDt perpetual by rule: match records
    (`IS_MATCH == 1`) and other pairs. Anything malformed is True (the build says why)."""
    if not isinstance(record, list) or len(record) < 9 or record[0] != "pos":
        return True
    if record[8] == 1 and type(record[8]) is int:
        return False
    symbol = record[4]  # a name too long to be one is malformed, not another pair
    return not (isinstance(symbol, str) and len(symbol) <= 64 and perpetual_coin(symbol) is None)


def _event(record: object, recv_ts: int) -> LiquidationEvent:
    if not isinstance(record, list) or len(record) < 9 or record[0] != "pos":
        raise MalformedFrame('record: expected ["pos", POS_ID, MTS, …, IS_MATCH, …]')
    pos_id, is_match, symbol = record[1], record[8], record[4]
    if type(pos_id) is not int or pos_id <= 0:
        raise MalformedFrame(f"POS_ID: expected a positive integer, got {pos_id!r:.40}")
    if is_match != 0 or type(is_match) is not int:
        raise MalformedFrame(f"IS_MATCH: expected 0 or 1, got {is_match!r:.20}")
    if not isinstance(symbol, str) or not 0 < len(symbol) <= 64:
        raise MalformedFrame(f"SYMBOL: expected a symbol, got {symbol!r:.70}")
    coin = perpetual_coin(symbol)
    assert coin is not None  # `_counted` let only USDt perpetuals through
    amount = signed_number(record[5], "AMOUNT")
    price = positive_number(record[6], "BASE_PRICE")
    side, size, ts = "long" if amount > 0 else "short", abs(amount), _mts(record[2])
    event_id = make_venue_event_id(EXCHANGE, symbol, str(pos_id))
    return _EVENTS.event(symbol, coin, side, price, size, ts, recv_ts, event_id=event_id)


def _mts(value: object) -> int:
    """Milliseconds, an integer or (the doc's example) a number with a fraction: floored."""
    if type(value) is int:
        ms = value
    elif isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 16:
        ms = int(value.to_integral_value(rounding=ROUND_FLOOR))
    else:
        raise MalformedFrame(f"MTS: expected milliseconds, got {value!r:.40}")
    if not 0 < ms < MAX_TS_MS:
        raise MalformedFrame(f"MTS: out of range: {value!r:.40}")
    return ms


def _record_text(chan_id: int, record: object) -> str:
    return f"[{chan_id},[{dump_part(record)}]]"
