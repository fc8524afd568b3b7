"""Frame builders in the venues' exact wire formats (as in the recorded fixtures)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import orjson

from liqmon_okx.parser import OkxSpec

BASE_TS = 1_790_000_000_000


def binance_order(i: int, *, symbol: str = "BTCUSDT", side: str = "SELL") -> dict[str, Any]:
    """The i-th distinct liquidation (distinct ts and qty => distinct id)."""
    qty = f"{1 + i % 97}.{i % 1000:03d}"
    return {
        "e": "forceOrder",
        "E": BASE_TS + i + 2,
        "o": {
            "s": symbol, "S": side, "o": "LIMIT", "f": "IOC", "q": qty, "p": "50000.00",
            "ap": "50010.50", "X": "FILLED", "l": qty, "z": qty, "T": BASE_TS + i,
            "ps": symbol, "st": 1,
        },
    }  # fmt: skip


def binance_frame(i: int, *, mode: str = "raw", **kw: Any) -> str:
    event = binance_order(i, **kw)
    if mode == "combined":
        return orjson.dumps({"stream": "!forceOrder@arr", "data": event}).decode()
    if mode == "array":
        return orjson.dumps([event]).decode()
    return orjson.dumps(event).decode()


def binance_z(i: int) -> Decimal:
    return Decimal(binance_order(i)["o"]["z"])


def binance_usd_cents(i: int) -> int:
    order = binance_order(i)["o"]
    usd = Decimal(order["z"]) * Decimal(order["ap"])
    return int(usd.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) * 100)


def okx_detail(i: int, *, pos_side: str = "long") -> dict[str, str]:
    return {
        "bkLoss": "0", "bkPx": "82655.7", "ccy": "", "posSide": pos_side,
        "side": "sell" if pos_side == "long" else "buy", "sz": f"{1 + i % 50}.{i % 100:02d}",
        "ts": str(BASE_TS + i),
    }  # fmt: skip


def okx_frame(
    details: list[dict[str, Any]], *, inst_id: str = "BTC-USDT-SWAP", inst_type: str = "SWAP"
) -> str:
    family = inst_id.rsplit("-", 1)[0]
    return orjson.dumps(
        {
            "arg": {"channel": "liquidation-orders", "instType": inst_type},
            "data": [
                {
                    "details": details, "instFamily": family, "instId": inst_id,
                    "instType": inst_type, "uly": family,
                }
            ],
        }
    ).decode()  # fmt: skip


def okx_instruments(*entries: dict[str, str]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": list(entries)}


def okx_instrument(
    inst_id: str, *, ct_val: str = "0.01", inst_type: str = "SWAP"
) -> dict[str, str]:
    coin = inst_id.split("-")[0]
    return {
        "instId": inst_id, "instType": inst_type, "instFamily": f"{coin}-USDT",
        "uly": f"{coin}-USDT",
        "ctType": "linear", "ctVal": ct_val, "ctValCcy": coin, "ctMult": "1", "settleCcy": "USDT",
        "state": "live",
    }  # fmt: skip


def okx_usd_cents(detail: dict[str, str], spec: OkxSpec) -> int:
    usd = Decimal(detail["sz"]) * spec.contract_value * Decimal(detail["bkPx"])
    return int(usd.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) * 100)
