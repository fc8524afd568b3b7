"""HTX `public.*.liquidation_orders` frames -> `LiquidationEvent`s (USDT-M and coin-M swaps).

Every frame from the server is GZIP-compressed binary (`gunzip_text` is the feed's decode
hook). A real USDT-M push (2026-09-18), decompressed:

    {"op":"notify","topic":"public.ETH-USDT.liquidation_orders","ts":1789670297217,
     "data":[{"symbol":"ETH","contract_code":"ETH-USDT","direction":"buy","offset":"close",
     "volume":500,"price":2446.26,"created_at":1789670297212,"amount":5,
     "trade_turnover":12231.3,"contract_type":"swap","pair":"ETH-USDT","business_type":"swap"}]}

Rules (docs/venues/htx.md):
- every `data[]` element is one liquidation at `created_at` (ms);
- `direction` is the side of the liquidation ORDER: `sell` closes a long, `buy` a short;
- numbers are JSON numbers: read as exact decimals, never through a binary float;
- `volume` is contracts. USDT-M: coins = volume × contract_size, usd = coins × price, and
  `amount` (coins), when present, must agree; coin-M: usd = volume × contract_size (USD per
  contract), coins = usd / price. Contract sizes come from the REST contract lists; an
  unknown contract is held until they know it, never valued by a guess;
- `price` is the bankruptcy price; HTX documents no throttling: `sampled` is false.
No id is sent: the event id is over (contract_code, created_at, direction, volume, price).

Control frames: the server's `{"op":"ping","ts":…}` (every 5 s; `ts` a string or a number)
is answered with `{"op":"pong","ts":<the same value>}`; `sub` acks carry `err-code` (0, or
2014 "Repeated subscription", harmless after the wildcard); `{"op":"close"}` announces a
disconnect (we move to a fresh connection); `{"op":"error"}` is a venue error.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from functools import partial
from typing import Any, Final

import orjson

from liqmon.collector.exactjson import load_exact, positive_number
from liqmon.collector.frames import (
    BadPart,
    FlatRecord,
    FrameResult,
    MalformedFrame,
    SpecMissing,
    SpecSource,
    attempt_each,
    dump_part,
    open_frame,
    require,
)
from liqmon.collector.instruments import listed_objects
from liqmon.collector.valuation import EventBuilder, mul
from liqmon.event import LiquidationEvent

TOPIC: Final = "public.*.liquidation_orders"
PRODUCTS: Final = {"linear": "htx-linear", "inverse": "htx-inverse"}
_SIDES: Final = {"sell": "long", "buy": "short"}  # order side -> the position it closes
_RECORD: Final = FlatRecord(
    "contract_code", "direction", _SIDES, "volume", "price", "created_at", positive_number
)
#: Subscribe answers that are not failures: 0 ok, 2014 "Repeated subscription".
_ACK_CODES: Final = (0, 2014)
_TOPIC_PREFIX, _TOPIC_SUFFIX = "public.", ".liquidation_orders"


_GZIP_WBITS: Final = 16 + zlib.MAX_WBITS
#: Deflate inflates at most 1032 bytes per input byte; twice that, for margin.
_DEFLATE_RATIO_BOUND: Final = 2064


def gunzip_text(data: bytes, limit: int = 16 * 1024 * 1024) -> str:
    """One HTX frame: gzip -> UTF-8 text, at most `limit` bytes once inflated (a small frame
    must not inflate into gigabytes). ValueError for anything else."""
    if len(data) <= limit // _DEFLATE_RATIO_BOUND:
        # Too small to inflate past `limit`, so the one-call inflater (the cheaper one) is
        # safe; a frame it cannot read goes the checked way below, for the exact reason.
        try:
            return zlib.decompress(data, _GZIP_WBITS).decode()
        except zlib.error:
            pass
    inflater = zlib.decompressobj(wbits=_GZIP_WBITS)
    try:
        text = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"not gzip: {exc}") from None
    if len(text) > limit or inflater.unconsumed_tail:
        raise ValueError(f"inflates beyond {limit} bytes")
    if not inflater.eof:
        raise ValueError("truncated gzip stream")
    return text.decode()


def gzip_text(text: str) -> bytes:
    """What HTX puts on the wire (the simulator and tests use it)."""
    deflater = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    return deflater.compress(text.encode()) + deflater.flush()


def coin_of(contract_code: str) -> str:
    """`BTC-USDT` / `BTC-USDT-210625` / `BTC-USD` -> `BTC`."""
    head = contract_code.split("-", 1)[0]
    if not head:
        raise MalformedFrame(f"contract_code {contract_code!r:.40}: no coin before '-'")
    return head


def pong(ts: object) -> str:
    """The answer to a server ping: its `ts` echoed exactly (string or number)."""
    return orjson.dumps({"op": "pong", "ts": ts}).decode()


class LiquidationOrdersParser:
    """The parser of one HTX connection (`/linear-swap-notification` or `/swap-notification`);
    the product is the connection's: the frame does not say."""

    def __init__(self, margin: str, specs: SpecSource[Decimal]) -> None:
        if margin not in PRODUCTS:
            raise ValueError(f"unknown HTX margin {margin!r}")
        self.margin = margin
        self.product = PRODUCTS[margin]
        self._specs = specs  # contract_code -> contract_size
        self._events = EventBuilder("htx", "bankruptcy", self.product, margin)

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult:
        result = FrameResult()
        msg = open_frame(raw, result, "htx", load_exact)
        if msg is None:
            return result
        op = msg.get("op")
        if op == "notify":
            self._notify(msg, raw, recv_ts, result)
        elif op == "ping":
            ts = msg.get("ts")
            if isinstance(ts, str | int) and not isinstance(ts, bool):
                result.control, result.reply = "ping", pong(ts)
            else:
                result.bad.append(BadPart(f"ping without a usable ts: {ts!r:.40}", raw, "htx"))
        elif op in ("sub", "unsub"):
            code = msg.get("err-code")
            if code in _ACK_CODES:
                result.control = "ack"
            else:
                result.error = (
                    f"htx refused {op} {msg.get('topic')!r:.80}: {code} {msg.get('err-msg')!r:.200}"
                )
        elif op == "close":
            result.control, result.reconnect = "close", True
        elif op == "error":
            result.error = f"htx error frame: {raw[:300]}"
        else:
            result.bad.append(BadPart(f"unknown op {op!r:.40}", raw, "htx"))
        return result

    def _notify(self, msg: dict[str, Any], raw: str, recv_ts: int, result: FrameResult) -> None:
        topic, data = msg.get("topic"), msg.get("data")
        if not (
            isinstance(topic, str)
            and topic.startswith(_TOPIC_PREFIX)
            and topic.endswith(_TOPIC_SUFFIX)
        ):
            result.bad.append(BadPart("not a liquidation_orders push", raw, "htx"))
            return
        label = f"{topic[:80]!r}"
        if not isinstance(data, list) or not data:
            result.bad.append(BadPart("data: expected a non-empty array", raw, label))
            return
        one_entry = partial(_one_entry, topic)
        attempt_each(result, raw, data, f"{label} data", self._event, recv_ts, one_entry)

    def _event(self, entry: object, recv_ts: int) -> LiquidationEvent:
        fields = require(entry, "data[]")
        code, side, volume, price, ts = _RECORD.read(fields)
        base = coin_of(code)
        size = self._specs.get(code)
        if size is None:
            raise SpecMissing(code)
        value = mul(volume, size)  # coins (USDT-M) or USD (coin-M)
        sent = fields.get("amount")
        if sent is not None and self.margin == "linear":
            amount = positive_number(sent, "amount")
            if amount != value:
                raise MalformedFrame(
                    f"amount {amount} disagrees with volume {volume} × contract_size {size}"
                )
        return self._events.event(code, base, side, price, value, ts, recv_ts, volume)


def _one_entry(topic: str, entry: object) -> str:
    return dump_part({"op": "notify", "topic": topic, "data": [entry]})


def parse_contract_info(doc: Any) -> dict[str, Decimal]:
    """`GET …/swap_contract_info` -> contract_size by contract_code.

    `{"status":"ok","data":[{"contract_code":"BTC-USDT","contract_size":0.001,…}],"ts":…}`
    (parsed with `load_exact`, so the sizes are exact). Entries without a code or a positive
    size are skipped; a response that is not `ok` is a ValueError.
    """
    rows = doc.get("data") if isinstance(doc, dict) else None
    ok = isinstance(doc, dict) and doc.get("status") == "ok"
    out: dict[str, Decimal] = {}
    for entry in listed_objects(doc, "swap_contract_info", rows, ok):
        code = entry.get("contract_code")
        if not isinstance(code, str) or not 0 < len(code) <= 64:
            continue
        try:
            out[code] = positive_number(entry.get("contract_size"), "contract_size").normalize()
        except ValueError:
            continue
    return out
