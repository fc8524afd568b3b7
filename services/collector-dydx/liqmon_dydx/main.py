"""Entry point for `liqmon run collector-dydx` (every perpetual market's `v4_trades`)."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_dydx.settings import DydxSettings
from liqmon_dydx.venue import DydxVenue

SETTINGS = DydxSettings
VENUE = DydxVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
