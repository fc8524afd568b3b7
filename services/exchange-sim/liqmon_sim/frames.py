"""Wire frames in the venues' exact shapes (key order, string-vs-number types).

Shapes follow the recorded frames in tests/fixtures/exchanges (rules: docs/venues/):
Binance USDⓈ-M events carry the undocumented `ps`/`st` keys seen in every 2026 capture;
COIN-M events carry `ps` right after `s` as in the COIN-M docs; OKX pushes carry every value
as a string, details keys in alphabetical order, several `data[]`/`details[]` entries when
liquidations coincide. Bybit pushes batch one topic's liquidations in `data[]`; `v`/`p` are
strings, `T`/`ts` integers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from liqmon_sim.catalog import Instrument
from liqmon_sim.market import Liquidation

OKX_CHANNEL = "liquidation-orders"


def fixed(value: Decimal, decimals: int) -> str:
    """Binance style: a fixed number of decimals (`"82338.30"`, `"0.190"`)."""
    return f"{value:.{decimals}f}"


def plain(value: Decimal) -> str:
    """OKX style: no exponent, no trailing fractional zeros (`"82655.7"`, `"100"`).

    `str` writes the same digits as the `f` format unless it chose an exponent (a
    positive exponent, or more than six leading fractional zeros), at a third of the cost:
    most venues' frames go through here several times per liquidation."""
    text = str(value)
    if "E" in text:
        text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def dumps(obj: Any) -> bytes:
    """A `Decimal` goes out as a JSON number with its exact digits (`88635.6`, `100`), never
    through a float: BitMEX and Deribit send prices and sizes as numbers."""
    return orjson.dumps(obj, default=_decimal_number)


def _decimal_number(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(plain(value))
    raise TypeError(type(value).__name__)


def dumps_numbers(obj: Any) -> bytes:
    """For venues that send amounts as JSON numbers (HTX, Gate's documented shape): every
    `Decimal` is written as a bare number with exactly its digits (`plain`), never a float."""
    return orjson.dumps(obj, default=_number)


def _number(value: object) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(plain(value).encode())
    raise TypeError(type(value).__name__)


def uuid_text(bits: int, version4: bool = False) -> str:
    """`str(uuid.UUID(int=bits))` (with `version=4`: its variant and version bits set), the
    same text without building a UUID object: Kraken writes two per liquidation."""
    if version4:
        bits = (bits & ~(0xC000 << 48) | 0x8000 << 48) & ~(0xF000 << 64) | 4 << 76
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def frame_head(length: int, binary: bool) -> bytes:
    """The header of one unfragmented, unmasked (server-to-client) WebSocket frame carrying
    `length` bytes of text or binary data (RFC 6455 section 5.2): exactly what websockets
    writes before the payload when no extension is negotiated (the simulator's servers
    negotiate none: `compression=None`)."""
    first = 0x82 if binary else 0x81  # FIN + opcode
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


# --- Binance -------------------------------------------------------------------------


def binance_event(liq: Liquidation, push_ms: int) -> dict[str, Any]:
    inst = liq.inst
    qdec, pdec = inst.lot_decimals, inst.price_decimals
    side = "SELL" if liq.side == "long" else "BUY"
    q = fixed(liq.qty, qdec)
    if inst.venue == "binance-coinm":
        order: dict[str, Any] = {"s": inst.inst_id, "ps": inst.pair, "S": side}
    else:
        order = {"s": inst.inst_id, "S": side}
    order.update(
        o="LIMIT", f="IOC", q=q, p=fixed(liq.limit_price, pdec), ap=fixed(liq.price, pdec),
        X="FILLED", l=fixed(liq.last_fill, qdec), z=q, T=liq.ts,
    )  # fmt: skip
    if inst.venue == "binance-usdm":
        order["ps"] = inst.pair
        order["st"] = 1
    return {"e": "forceOrder", "E": push_ms, "o": order}


def binance_combined(stream: str, payload: bytes) -> bytes:
    """`{"stream":…,"data":…}` around an already-encoded event."""
    return b'{"stream":' + orjson.dumps(stream) + b',"data":' + payload + b"}"


def binance_result(req_id: object, result: Any = None) -> bytes:
    return dumps({"result": result, "id": req_id})


def binance_error(code: int, msg: str, req_id: object = None) -> bytes:
    body: dict[str, Any] = {"code": code, "msg": msg}
    if req_id is not None:
        body["id"] = req_id
    return dumps(body)


def binance_symbol_stream(inst: Instrument) -> str:
    return f"{inst.inst_id.lower()}@forceOrder"


# --- OKX -----------------------------------------------------------------------------


def okx_detail(liq: Liquidation) -> dict[str, str]:
    order_side = "sell" if liq.side == "long" else "buy"
    return {
        "bkLoss": "0",
        "bkPx": plain(liq.price),
        "ccy": "",
        "posSide": "net" if liq.net_mode else liq.side,
        "side": order_side,
        "sz": plain(liq.qty),
        "ts": str(liq.ts),
    }


def okx_entry(inst: Instrument, details: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "details": details,
        "instFamily": inst.pair,
        "instId": inst.inst_id,
        "instType": inst.inst_type,
        "uly": inst.pair,
    }


def okx_push(inst_type: str, entries: list[dict[str, Any]]) -> bytes:
    return dumps({"arg": {"channel": OKX_CHANNEL, "instType": inst_type}, "data": entries})


def okx_event(event: str, arg: Any, conn_id: str, req_id: str | None = None) -> bytes:
    body: dict[str, Any] = {} if req_id is None else {"id": req_id}
    body.update(event=event, arg=arg, connId=conn_id)
    return dumps(body)


def okx_error(code: str, msg: str, conn_id: str, req_id: str | None = None) -> bytes:
    body: dict[str, Any] = {} if req_id is None else {"id": req_id}
    body.update(event="error", code=code, msg=msg, connId=conn_id)
    return dumps(body)


def okx_notice(conn_id: str) -> bytes:
    msg = "The connection will soon be closed for a service upgrade. Please reconnect."
    return dumps({"event": "notice", "code": "64008", "msg": msg, "connId": conn_id})


# --- Bybit ---------------------------------------------------------------------------

BYBIT_TOPIC_PREFIX = "allLiquidation."


def bybit_entry(liq: Liquidation) -> dict[str, Any]:
    """`S` is the POSITION side: Buy = a long was liquidated (docs/venues/bybit.md)."""
    inst = liq.inst
    return {
        "T": liq.ts,
        "s": inst.inst_id,
        "S": "Buy" if liq.side == "long" else "Sell",
        "v": fixed(liq.qty, inst.lot_decimals),
        "p": fixed(liq.price, inst.price_decimals),
    }


def bybit_push(symbol: str, entries: list[dict[str, Any]], ts: int) -> bytes:
    return dumps(
        {"topic": BYBIT_TOPIC_PREFIX + symbol, "type": "snapshot", "ts": ts, "data": entries}
    )


def bybit_reply(op: str, success: bool, ret_msg: str, conn_id: str, req_id: str) -> bytes:
    """Ack, refusal or pong, key order as the doc fixtures."""
    return dumps(
        {"success": success, "ret_msg": ret_msg, "conn_id": conn_id, "req_id": req_id, "op": op}
    )


def bybit_rest(result: Any, now_ms: int) -> dict[str, Any]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms}


def bybit_rest_error(code: int, msg: str, now_ms: int) -> dict[str, Any]:
    return {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": now_ms}
