"""Shared helpers for the collector tests: fixture files, expected events, spec tables."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from liqmon.event import LiquidationEvent, cents_to_str
from liqmon_binance.parser import COINM, USDM, BinanceSpec, parse_exchange_info
from liqmon_okx.parser import OkxSpec, parse_instruments
from tests.conftest import FIXTURES


def expected() -> dict[str, list[dict[str, Any]]]:
    events: dict[str, list[dict[str, Any]]] = json.loads((FIXTURES / "expected.json").read_text())[
        "events"
    ]
    return events


def fixture_text(rel: str) -> str:
    return (FIXTURES / rel).read_text()


def binance_fixtures() -> list[str]:
    return sorted(f"binance/{p.name}" for p in (FIXTURES / "binance").glob("*forceorder*.json"))


def okx_fixtures() -> list[str]:
    return sorted(f"okx/{p.name}" for p in (FIXTURES / "okx").glob("okx_liquidation_orders_*.json"))


def binance_product(rel: str) -> str:
    return COINM if "coinm" in rel else USDM


def coinm_specs() -> dict[str, BinanceSpec]:
    """COIN-M specs: the real exchangeInfo excerpt plus the dated BTCUSD_200925 (size 100)."""
    doc = json.loads(
        (FIXTURES / "binance/binance_coinm_exchangeinfo_symbols_excerpt.json").read_text()
    )
    specs = parse_exchange_info(doc, COINM)
    specs["BTCUSD_200925"] = BinanceSpec("BTC", "USD", Decimal(100))
    return specs


def okx_specs() -> dict[str, OkxSpec]:
    doc = json.loads((FIXTURES / "okx/okx_instruments_for_fixtures.json").read_text())
    return parse_instruments(doc)


def as_expected(event: LiquidationEvent) -> dict[str, Any]:
    """An event in expected.json's shape."""
    return {
        "exchange": event.exchange,
        "product": event.product,
        "margin": event.margin,
        "instrument": event.instrument,
        "symbol": event.symbol,
        "side": event.side,
        "price": format(event.price, "f"),
        "price_kind": event.price_kind,
        "qty": format(event.qty, "f"),
        "usd": cents_to_str(event.usd_cents),
        "ts": event.ts,
    }


def fixture_path(rel: str) -> Path:
    return FIXTURES / rel
