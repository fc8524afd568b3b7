"""Entry point for `liqmon run collector-htx` (USDT-M and coin-M, every contract)."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_htx.settings import HtxSettings
from liqmon_htx.venue import HtxVenue

SETTINGS = HtxSettings
VENUE = HtxVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
