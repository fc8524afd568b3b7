"""Instruments quoted per block of coins (`1000PEPEUSDT`, `SHIB1000USDT`): quantity AND price
are per single coin, so price × qty is the notional and a coin has one price scale across
venues (the event id still uses the venue's own price)."""

from __future__ import annotations

from decimal import Decimal

import orjson

from liqmon_binance.parser import USDM, BinanceSpec, ForceOrderParser
from liqmon_bybit.parser import AllLiquidationParser, BybitInstrument

RECV = 1_795_850_000_500


def test_binance_1000pepe_price_is_per_pepe() -> None:
    frame = {
        "e": "forceOrder", "E": RECV, "o": {
            "s": "1000PEPEUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "21680",
            "p": "0.0104", "ap": "0.0105019", "X": "FILLED", "l": "21680", "z": "21680",
            "T": RECV - 400,
        },
    }  # fmt: skip
    specs = {"1000PEPEUSDT": BinanceSpec("1000PEPE", "USDT")}
    result = ForceOrderParser(USDM, specs).parse_frame(orjson.dumps(frame).decode(), RECV)
    (event,) = result.events
    assert (event.symbol, event.qty, event.usd_cents) == ("PEPE", Decimal(21_680_000), 227_68)
    # 21,680,000 PEPE liquidated for $227.68 => $0.0000105019 per PEPE
    assert event.price == Decimal("0.0000105019"), f"price {event.price} is per 1000 PEPE"


def test_bybit_shib1000_price_is_per_shib() -> None:
    frame = {
        "topic": "allLiquidation.SHIB1000USDT", "type": "snapshot", "ts": RECV,
        "data": [{"T": RECV - 300, "s": "SHIB1000USDT", "S": "Buy", "v": "390676", "p": "0.0125"}],
    }  # fmt: skip
    specs = {"SHIB1000USDT": BybitInstrument("linear", "SHIB1000", "USDT", "Trading")}
    result = AllLiquidationParser("linear", specs).parse_frame(orjson.dumps(frame).decode(), RECV)
    (event,) = result.events
    assert (event.symbol, event.qty, event.usd_cents) == ("SHIB", Decimal(390_676_000), 4883_45)
    assert event.price == Decimal("0.0000125"), f"price {event.price} is per 1000 SHIB"
