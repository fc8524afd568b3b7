"""Entry point for `liqmon run collector-binance` (both Binance products in one process)."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_binance.settings import BinanceSettings
from liqmon_binance.venue import BinanceVenue

#: What the registry (liqmon.venues) and a grouped collector process build this venue from.
SETTINGS = BinanceSettings
VENUE = BinanceVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
