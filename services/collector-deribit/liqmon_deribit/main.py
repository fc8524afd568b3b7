"""Entry point for `liqmon run collector-deribit`."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_deribit.settings import DeribitSettings
from liqmon_deribit.venue import DeribitVenue

SETTINGS = DeribitSettings
VENUE = DeribitVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
