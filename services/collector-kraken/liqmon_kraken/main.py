"""Entry point for `liqmon run collector-kraken` (the trade feed of every listed contract)."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_kraken.settings import KrakenSettings
from liqmon_kraken.venue import KrakenVenue

SETTINGS = KrakenSettings
VENUE = KrakenVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
