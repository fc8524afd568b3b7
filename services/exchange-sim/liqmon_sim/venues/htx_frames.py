"""HTX's frames as the simulator writes them: the gzip member of every frame, a push's
`data[]` elements and envelope, a broken push (malformed fault) and a `swap_contract_info`
entry. Shapes follow the recorded frames in tests/fixtures/exchanges/htx (docs/venues/htx.md).
"""

from __future__ import annotations

import random
import zlib
from decimal import Decimal
from typing import Any

import orjson

from liqmon_sim.catalog import EXPIRY_CODE, Instrument
from liqmon_sim.frames import dumps_numbers as dumps
from liqmon_sim.malformed import NON_ASCII, OVERSIZE_BYTES
from liqmon_sim.market import Liquidation


def gzip(payload: bytes) -> bytes:
    """A gzip member of one frame. Level 1, a 4 KiB window and memory level 3: setting up
    the default deflate state (256 KiB) per frame cost the simulator ~4x more CPU than
    compressing, and any inflater reads the result the same way. The window reaches back
    over several `data[]` elements of a push, whose keys and values mostly repeat: deflate
    then copies long matches instead of coding each byte (a 512-byte window and memory
    level 1 found few: 30 BTC elements took 175 us and 5.4 KB, now 14 us and 0.75 KB; one
    element 7.9 -> 6.1 us). Fixed Huffman codes (`Z_FIXED`): for a frame of a few hundred
    bytes, building the dynamic code tables (which zlib then often drops for the fixed ones
    anyway) was ~20% of the compression; the frame is still deflate-compressed."""
    deflater = zlib.compressobj(1, zlib.DEFLATED, 16 + 12, 3, zlib.Z_FIXED)
    return deflater.compress(payload) + deflater.flush()


def entry(liq: Liquidation) -> dict[str, Any]:
    """One `data[]` element; `direction` is the liquidation ORDER's side."""
    inst = liq.inst
    out: dict[str, Any] = {
        "symbol": inst.coin,
        "contract_code": inst.inst_id,
        "direction": "sell" if liq.side == "long" else "buy",
        "offset": "close",
        "volume": liq.qty,
        "price": liq.price,
        "created_at": liq.ts,
    }
    if inst.ct_type == "linear":
        amount = liq.qty * inst.contract_size
        out["amount"] = amount
        out["trade_turnover"] = amount * liq.price
        out["contract_type"] = "quarter" if inst.delivery else "swap"
        out["pair"] = inst.pair
        out["business_type"] = "futures" if inst.delivery else "swap"
        out["trade_partition"] = "USDT"
    return out


def push(liq: Liquidation, ts: int, data: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    topic = f"public.{liq.inst.inst_id}.liquidation_orders"
    return {"op": "notify", "topic": topic, "ts": ts, "data": data or [entry(liq)]}


def alone(liq: Liquidation, ts: int) -> bytes:
    """`liq`'s push on its own, with the push time it first went out at (a re-send)."""
    return dumps(push(liq, ts))


def contract_info(inst: Instrument) -> dict[str, Any]:
    """One entry of swap_contract_info (keys in the order of the 2022 responses)."""
    out: dict[str, Any] = {
        "symbol": inst.coin,
        "contract_code": inst.inst_id,
        "contract_size": orjson.Fragment(f"{inst.contract_size:.18f}".encode()),
        "price_tick": orjson.Fragment(f"{inst.tick:.18f}".encode()),
    }
    if inst.ct_type == "linear":
        out["delivery_date"] = EXPIRY_CODE if inst.delivery else ""
    out.update(
        delivery_time="", create_date="20201021", contract_status=1,
        settlement_date="1645315200000",
    )  # fmt: skip
    if inst.ct_type == "linear":
        out.update(
            support_margin_mode="cross" if inst.delivery else "all",
            business_type="futures" if inst.delivery else "swap",
            pair=inst.pair,
            contract_type="quarter" if inst.delivery else "swap",
            trade_partition="USDT",
        )
    return out


def malformed(rng: random.Random, liq: Liquidation, kind: str, push_ms: int) -> tuple[bytes, str]:
    """A broken push carrying one broken element (numbers broken as numbers, not strings)."""
    element = entry(liq)
    frame = push(liq, push_ms, [element])
    label = liq.inst.inst_id
    if kind == "invalid_json":
        text = dumps(frame)
        return text[: rng.randint(5, len(text) - 2)], label
    if kind in ("oversize", "non_ascii_symbol", "unknown_instrument"):
        label = {
            "oversize": "X" * OVERSIZE_BYTES,
            "non_ascii_symbol": f"{NON_ASCII}-USDT",
            "unknown_instrument": f"ZZ{rng.randrange(10**6)}-USDT",
        }[kind]
        element["contract_code"] = label
        return dumps(frame), label[:16]
    key = rng.choice(["volume", "price"])
    if kind == "missing_field":
        element.pop(rng.choice(["volume", "price", "direction", "contract_code", "created_at"]))
    elif kind == "wrong_type":
        target, name, value = rng.choice(
            [(element, "volume", [1]), (element, "created_at", "soon"), (frame, "data", "x")]
        )
        target[name] = value
    elif kind == "negative":
        element[key] = -element[key]
    elif kind == "zero":
        element[key] = Decimal(0)
    elif kind == "nan":
        element[key] = orjson.Fragment(rng.choice([b"NaN", b"Infinity", b"-Infinity"]))
    elif kind == "huge":
        element["volume"] = orjson.Fragment(rng.choice([b"1e308", b"9" * 40, b"1E+30"]))
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return dumps(frame), label
