"""Entry point for `liqmon run collector-gate` (USDT-settled contracts)."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_gate.settings import GateSettings
from liqmon_gate.venue import GateVenue

SETTINGS = GateSettings
VENUE = GateVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
