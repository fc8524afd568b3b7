"""OKX `liquidation-orders` frames -> `LiquidationEvent`s (SWAP and FUTURES).

A real frame (2026-10-09):

    {"arg":{"channel":"liquidation-orders","instType":"SWAP"},"data":[{"details":[{"bkLoss":"0",
     "bkPx":"82655.7","ccy":"","posSide":"long","side":"sell","sz":"8.55","ts":"1791565600771"}],
     "instFamily":"BTC-USDT","instId":"BTC-USDT-SWAP","instType":"SWAP","uly":"BTC-USDT"}]}

Rules (docs/venues/okx.md): every `data[]` entry and every `details[]` entry is one
liquidation. Side from `posSide` (`long`/`short`); in net mode (`posSide = net`) from the
order side (`sell` closes a long). `sz` is contracts (possibly fractional) and needs the
instrument's spec (`ctType`, `ctVal`, `ctMult` from /api/v5/public/instruments):
- linear: `qty = sz × ctVal × ctMult` coins, `usd = qty × bkPx`;
- inverse: `usd = sz × ctVal × ctMult`, `qty = usd / bkPx` rounded half-even to 8 decimals.
The price is the bankruptcy price `bkPx`; the time is `details[].ts` (a string). An unknown
`instId` is held until the spec arrives. A bad detail is reported on its own (with its instId
and position), so the good details of the same frame still count.

Non-event frames: text `pong`, `{"event":"subscribe"}` acks, `{"event":"error"}` (reported
as an error), `{"event":"notice","code":"64008"}` (service upgrade: move to a new connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Final

from liqmon.collector.frames import (
    BadPart,
    FrameResult,
    MalformedFrame,
    SpecMissing,
    SpecSource,
    attempt_each,
    dump_part,
    ms_field,
    open_frame,
    require,
)
from liqmon.collector.instruments import listed_objects
from liqmon.collector.valuation import EventBuilder, mul
from liqmon.event import LiquidationEvent, parse_decimal

CHANNEL: Final = "liquidation-orders"
INST_TYPES: Final = ("SWAP", "FUTURES")
PRODUCTS: Final = {"SWAP": "okx-swap", "FUTURES": "okx-futures"}
SERVICE_UPGRADE_NOTICE: Final = "64008"
_POS_SIDES: Final = {"long": "long", "short": "short"}
_NET_SIDES: Final = {"sell": "long", "buy": "short"}


@dataclass(frozen=True, slots=True)
class OkxSpec:
    """The part of an instrument we need: how many coins (linear) or USD (inverse) one
    contract is worth."""

    inst_type: str
    margin: str  # "linear" | "inverse"
    contract_value: Decimal  # ctVal × ctMult
    coin: str


class LiquidationOrdersParser:
    def __init__(self, specs: SpecSource[OkxSpec]) -> None:
        self._specs = specs
        self._events = {t: EventBuilder("okx", "bankruptcy", p) for t, p in PRODUCTS.items()}

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        if raw == "pong":
            result.control = "pong"
            return result
        msg = open_frame(raw, result, "okx")
        if msg is None:
            return result
        if "event" in msg:
            self._event_frame(msg, raw, result)
            return result
        arg = msg.get("arg")
        data = msg.get("data")
        if not isinstance(arg, dict) or arg.get("channel") != CHANNEL or not isinstance(data, list):
            result.bad.append(BadPart("not a liquidation-orders push", raw, "okx"))
            return result
        for i, entry in enumerate(data):
            self._entry(entry, i, raw if len(data) == 1 else None, recv_ts, result)
        return result

    @staticmethod
    def _event_frame(msg: dict[str, Any], raw: str, result: FrameResult) -> None:
        kind = msg.get("event")
        if kind in ("subscribe", "unsubscribe", "channel-conn-count"):
            result.control = "ack"
        elif kind == "error":
            result.error = f"okx error {msg.get('code')!r}: {msg.get('msg')!r:.200}"
        elif kind == "notice":
            result.control = "notice"
            result.error = f"okx notice {msg.get('code')!r}: {msg.get('msg')!r:.200}"
            result.reconnect = msg.get("code") == SERVICE_UPGRADE_NOTICE
        else:
            result.bad.append(BadPart(f"unknown event {kind!r:.40}", raw, "okx"))

    def _entry(
        self, entry: object, index: int, raw: str | None, recv_ts: int, result: FrameResult
    ) -> None:
        if not isinstance(entry, dict):
            result.bad.append(
                BadPart("data[] entry is not an object", dump_part(entry), f"data[{index}]")
            )
            return
        inst_id = entry.get("instId")
        details = entry.get("details")
        label = f"{inst_id!r:.80} data[{index}]"
        if (
            not isinstance(inst_id, str)
            or not 0 < len(inst_id) <= 64
            or not isinstance(details, list)
            or not details
        ):
            reason = "data[] entry needs an instId (1-64 chars) and details[]"
            result.bad.append(BadPart(reason, dump_part(entry), label))
            return
        inst_type = entry.get("instType")
        one_detail = partial(_one_detail, inst_id, inst_type)
        build = partial(self._event, inst_id, inst_type)
        attempt_each(result, raw, details, f"{label}.details", build, recv_ts, one_detail)

    def _event(
        self, inst_id: str, inst_type: object, detail: object, recv_ts: int
    ) -> LiquidationEvent:
        fields = require(detail, "details[]")
        pos_side = fields.get("posSide")
        side = _POS_SIDES.get(pos_side) if isinstance(pos_side, str) else None
        if side is None and pos_side == "net":
            order_side = fields.get("side")
            side = _NET_SIDES.get(order_side) if isinstance(order_side, str) else None
        if side is None:
            raise MalformedFrame(
                f"cannot tell the side: posSide={pos_side!r:.20} side={fields.get('side')!r:.20}"
            )
        size = parse_decimal(fields.get("sz"), "sz")
        price = parse_decimal(fields.get("bkPx"), "bkPx")
        ts = ms_field(fields, "ts")
        spec = self._specs.get(inst_id)
        if spec is None:
            raise SpecMissing(inst_id)
        events = self._events.get(spec.inst_type)
        if events is None or (isinstance(inst_type, str) and inst_type != spec.inst_type):
            raise MalformedFrame(
                f"{inst_id}: instType {inst_type!r:.20} not SWAP/FUTURES or not the spec's"
            )
        amount = mul(size, spec.contract_value)
        return events.event(
            inst_id, spec.coin, side, price, amount, ts, recv_ts, size, margin=spec.margin
        )


def _one_detail(inst_id: str, inst_type: object, detail: object) -> str:
    return dump_part({"instId": inst_id, "instType": inst_type, "details": [detail]})


def parse_instruments(doc: Any) -> dict[str, OkxSpec]:
    """`GET /api/v5/public/instruments` (`{"code":"0","data":[…]}`) -> specs by instId.

    Entries without a usable `ctType`/`ctVal`/`ctMult` are skipped (their liquidations stay
    held and are dead-lettered if the spec never becomes usable).
    """
    rows = doc.get("data") if isinstance(doc, dict) else None
    ok = isinstance(doc, dict) and doc.get("code") in ("0", 0)
    specs: dict[str, OkxSpec] = {}
    for entry in listed_objects(doc, "instruments", rows, ok):
        inst_id, inst_type, ct_type = (
            entry.get("instId"),
            entry.get("instType"),
            entry.get("ctType"),
        )
        if (
            not isinstance(inst_id, str)
            or inst_type not in PRODUCTS
            or ct_type not in ("linear", "inverse")
        ):
            continue
        try:
            value = mul(
                parse_decimal(entry.get("ctVal"), "ctVal"),
                parse_decimal(entry.get("ctMult") or "1", "ctMult"),
            )
        except ValueError:
            continue
        family = entry.get("instFamily") or entry.get("uly") or inst_id
        coin = str(family).split("-", 1)[0]
        if ct_type == "linear" and isinstance(entry.get("ctValCcy"), str) and entry["ctValCcy"]:
            coin = entry["ctValCcy"]
        specs[inst_id] = OkxSpec(str(inst_type), str(ct_type), value, coin)
    return specs
