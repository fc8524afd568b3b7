"""An independent, strict reading of the simulator's frames, for checking its ledger.

It knows nothing of the simulator's internals: contract specs come from the simulator's
own REST endpoints (as a collector would fetch them) and USD is recomputed from the frame
fields: z×ap (USDⓈ-M), z×contractSize (COIN-M), sz×ctVal×ctMult(×bkPx if linear) (OKX).
Anything a careful collector would reject raises `Bad`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import httpx

CENT = Decimal("0.01")
MAX_USD = Decimal("1e11")


class Bad(ValueError):
    pass


@dataclass(frozen=True)
class Seen:
    venue: str
    instrument: str
    side: str
    ts: int
    cents: int
    qty: str
    price: str


@dataclass
class Specs:
    usdm: set[str]
    coinm: dict[str, Decimal]  # contractSize
    okx: dict[str, dict[str, str]]


async def load_specs(urls: dict[str, str]) -> Specs:
    async with httpx.AsyncClient(timeout=10) as client:
        usdm = (
            await client.get(f"{urls['LIQMON_BINANCE_USDM_REST_URL']}/fapi/v1/exchangeInfo")
        ).json()
        coinm = (
            await client.get(f"{urls['LIQMON_BINANCE_COINM_REST_URL']}/dapi/v1/exchangeInfo")
        ).json()
        okx: dict[str, dict[str, str]] = {}
        for inst_type in ("SWAP", "FUTURES"):
            url = f"{urls['LIQMON_OKX_REST_URL']}/api/v5/public/instruments"
            body = (await client.get(url, params={"instType": inst_type})).json()
            okx.update({i["instId"]: i for i in body["data"]})
    return Specs(
        {s["symbol"] for s in usdm["symbols"]},
        {s["symbol"]: Decimal(s["contractSize"]) for s in coinm["symbols"]},
        okx,
    )


def _decimal(value: Any) -> Decimal:
    if not isinstance(value, str):
        raise Bad(f"not a decimal string: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Bad(f"not a decimal: {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise Bad(f"not a positive finite number: {value!r}")
    return number


def _cents(usd: Decimal) -> int:
    if usd > MAX_USD:
        raise Bad(f"implausible notional {usd}")
    return int(usd.quantize(CENT, rounding=ROUND_HALF_EVEN) * 100)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise Bad("invalid JSON") from None


def binance(text: str, venue: str, specs: Specs) -> Seen:
    frame = _loads(text)
    if isinstance(frame, dict) and "stream" in frame:
        frame = frame["data"]
    try:
        order = frame["o"]
        symbol, order_side, ts = order["s"], order["S"], order["T"]
        qty, price = _decimal(order["z"]), _decimal(order["ap"])
    except (KeyError, TypeError):
        raise Bad("missing or mistyped field") from None
    if not isinstance(ts, int) or order_side not in ("BUY", "SELL"):
        raise Bad("bad time or side")
    if venue == "binance-usdm":
        if symbol not in specs.usdm:
            raise Bad(f"unknown symbol {symbol[:20]!r}")
        usd = qty * price
    else:
        if symbol not in specs.coinm:
            raise Bad(f"unknown symbol {symbol[:20]!r}")
        usd = qty * specs.coinm[symbol]
    side = "long" if order_side == "SELL" else "short"
    return Seen(venue, symbol, side, ts, _cents(usd), order["z"], order["ap"])


def okx(text: str, specs: Specs) -> list[Seen]:
    push = _loads(text)
    out = []
    try:
        entries = push["data"]
        if not isinstance(entries, list):
            raise Bad("data is not a list")
        for entry in entries:
            inst_id = entry["instId"]
            spec = specs.okx.get(inst_id)
            if spec is None:
                raise Bad(f"unknown instrument {inst_id[:20]!r}")
            if not isinstance(entry["details"], list):
                raise Bad("details is not a list")
            for d in entry["details"]:
                sz, px = _decimal(d["sz"]), _decimal(d["bkPx"])
                if not isinstance(d["ts"], str) or not d["ts"].isdigit():
                    raise Bad("bad ts")
                pos = (
                    d["posSide"]
                    if d["posSide"] != "net"
                    else {"sell": "long", "buy": "short"}[d["side"]]
                )
                value = sz * Decimal(spec["ctVal"]) * Decimal(spec["ctMult"])
                usd = value * px if spec["ctType"] == "linear" else value
                out.append(Seen("okx", inst_id, pos, int(d["ts"]), _cents(usd), d["sz"], d["bkPx"]))
    except (KeyError, TypeError):
        raise Bad("missing or mistyped field") from None
    return out
