"""Entry point for `liqmon run collector-bybit` (linear and inverse, every listed symbol)."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_bybit.settings import BybitSettings
from liqmon_bybit.venue import BybitVenue

#: What the registry (liqmon.venues) and a grouped collector process build this venue from.
SETTINGS = BybitSettings
VENUE = BybitVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
