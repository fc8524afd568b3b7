"""Entry point for `liqmon run collector-bitmex`."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_bitmex.settings import BitmexSettings
from liqmon_bitmex.venue import BitmexVenue

SETTINGS = BitmexSettings
VENUE = BitmexVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
