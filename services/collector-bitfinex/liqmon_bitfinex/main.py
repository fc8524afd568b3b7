"""Entry point for `liqmon run collector-bitfinex` (status channel `liq:global`)."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_bitfinex.settings import BitfinexSettings
from liqmon_bitfinex.venue import BitfinexVenue

SETTINGS = BitfinexSettings
VENUE = BitfinexVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
