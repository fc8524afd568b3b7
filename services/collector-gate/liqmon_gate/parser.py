"""Gate `futures.public_liquidates` frames -> `LiquidationEvent`s (USDT-settled contracts).

Live frames (2026-08-10) differ from the documentation, and both must be read:

    live: {"time":1786327033,"time_ms":1786327033532,"channel":"futures.public_liquidates",
           "event":"update","result":{"contract":"HEI_USDT","price":"0.13827",
           "time":1786327033531,"size":-23}}
    docs: {…,"event":"update","result":[{"price":215.1,"size":"-124",
           "time_ms":1541486601123,"contract":"BTC_USDT"}]}

`result` is an object or an array of them; the element's time is `time_ms`, else `time` (ms;
seconds are scaled); `price` and `size` are numbers or strings (read exactly). Rules
(docs/venues/gate.md):
- qty = |size| × quanto_multiplier (from `/api/v4/futures/usdt/contracts`; an unknown
  contract is held until the list knows it), usd = qty × price;
- `price` is the liquidation ORDER's price (`price_kind = order`);
- side: by the sign of `size` under the convention in force (`liqmon_gate.side`: the
  documentation does not settle it; the REST history is checked while running);
- Gate pushes at most one liquidation per contract per second: `sampled` is true.
No id is sent: the event id is over (contract, time, price, signed size) - not over the side,
which depends on the convention in force.

Control frames: subscribe/unsubscribe answers (`result.status` success or fail with an
`error`), `futures.pong` (the answer to our `futures.ping`), and the service-upgrade notice
`{"type":"upgrade",…}` (we move to a fresh connection).
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any, Final

from liqmon.collector.exactjson import load_exact, positive_number, signed_number
from liqmon.collector.frames import (
    BadPart,
    FrameResult,
    MalformedFrame,
    SpecMissing,
    SpecSource,
    attempt_each,
    dump_part,
    instrument_field,
    open_frame,
    require,
)
from liqmon.collector.valuation import EventBuilder, mul
from liqmon.event import LiquidationEvent, make_event_id
from liqmon_gate.side import SideConvention

CHANNEL: Final = "futures.public_liquidates"
PRODUCT: Final = "gate-usdt"
SETTLE: Final = "USDT"
#: Element times below this are seconds, not milliseconds.
_MS_FLOOR: Final = 10**12


def coin_of(contract: str) -> str:
    """`BTC_USDT` -> `BTC`. Only USDT-settled contracts are collected."""
    coin, sep, quote = contract.partition("_")
    if not coin or not sep or quote != SETTLE:
        raise MalformedFrame(f"contract {contract!r:.40}: not a <COIN>_USDT contract")
    return coin


def element_ts(fields: dict[str, Any]) -> int:
    for name in ("time_ms", "time"):
        value = fields.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise MalformedFrame(f"{name}: expected a time, got {value!r:.40}")
        text = str(value)
        if not (text.isascii() and text.isdigit() and len(text) <= 16):
            raise MalformedFrame(f"{name}: expected a time, got {value!r:.40}")
        ts = int(text)
        return ts * 1000 if ts < _MS_FLOOR else ts
    raise MalformedFrame("no time_ms or time in the element")


class PublicLiquidatesParser:
    def __init__(self, specs: SpecSource[Decimal], convention: SideConvention) -> None:
        self._specs = specs  # contract -> quanto_multiplier
        self.convention = convention
        self._events = EventBuilder("gate", "order", PRODUCT, "linear")

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        msg = open_frame(raw, result, "gate", load_exact)
        if msg is None:
            return result
        channel, event = msg.get("channel"), msg.get("event")
        if channel == CHANNEL and event == "update":
            self._update(msg, raw, recv_ts, result)
        elif event in ("subscribe", "unsubscribe") and isinstance(channel, str):
            self._answer(msg, channel, str(event), result)
        elif channel == "futures.pong":
            result.control = "pong"
        elif msg.get("type") == "upgrade":
            result.control, result.reconnect = "upgrade", True
        else:
            result.bad.append(BadPart(f"unknown frame {channel!r:.60}/{event!r:.20}", raw, "gate"))
        return result

    @staticmethod
    def _answer(msg: dict[str, Any], channel: str, event: str, result: FrameResult) -> None:
        status = msg.get("result")
        ok = isinstance(status, dict) and status.get("status") == "success"
        if ok and not msg.get("error"):
            result.control = "ack"
        else:
            result.error = f"gate refused {event} {channel!r:.60}: {msg.get('error')!r:.300}"

    def _update(self, msg: dict[str, Any], raw: str, recv_ts: int, result: FrameResult) -> None:
        body = msg.get("result")
        entries = body if isinstance(body, list) else [body]
        if not entries or body is None:
            result.bad.append(
                BadPart("result: expected an object or a non-empty array", raw, "gate")
            )
            return
        one_entry = partial(_one_entry, msg)
        attempt_each(result, raw, entries, f"{CHANNEL} result", self._event, recv_ts, one_entry)

    def _event(self, entry: object, recv_ts: int) -> LiquidationEvent:
        fields = require(entry, "result")
        contract = instrument_field(fields, "contract")
        coin = coin_of(contract)
        size = signed_number(fields.get("size"), "size")
        price = positive_number(fields.get("price"), "price")
        ts = element_ts(fields)
        multiplier = self._specs.get(contract)
        if multiplier is None:
            raise SpecMissing(contract)
        # The id is over what Gate sent (contract, time, price, signed size), not over the
        # side we read from it: a switch of convention must not give a re-send a new id.
        sign = "-" if size < 0 else "+"
        event_id = make_event_id("gate", PRODUCT, contract, sign, ts, size, price)
        side, amount = self.convention.side(size), mul(abs(size), multiplier)
        event = self._events.event(
            contract, coin, side, price, amount, ts, recv_ts, event_id=event_id
        )
        self.convention.observe(contract, ts, price, size)
        return event


def _one_entry(msg: dict[str, Any], entry: object) -> str:
    return dump_part({**msg, "result": entry})


def parse_contracts(doc: Any) -> dict[str, Decimal]:
    """`GET /api/v4/futures/usdt/contracts` -> quanto_multiplier by contract name.

    A JSON array of `{"name":"BTC_USDT","quanto_multiplier":"0.0001",…}`; entries without a
    name or a positive multiplier are skipped; anything but an array is a ValueError.
    """
    if not isinstance(doc, list):
        raise ValueError(f"futures contracts: expected an array, got {str(doc)[:200]}")
    out: dict[str, Decimal] = {}
    for entry in doc:
        if not isinstance(entry, dict):
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= 64:
            continue
        try:
            out[name] = positive_number(entry.get("quanto_multiplier"), "quanto_multiplier")
        except ValueError:
            continue
    return out
