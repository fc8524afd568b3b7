"""Entry point for `liqmon run collector-okx` (SWAP and FUTURES on one connection)."""

from __future__ import annotations

from liqmon.collector.service import run_collector
from liqmon_okx.settings import OkxSettings
from liqmon_okx.venue import OkxVenue

#: What the registry (liqmon.venues) and a grouped collector process build this venue from.
SETTINGS = OkxSettings
VENUE = OkxVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only (LIQMON_* variables)
    return run_collector(SETTINGS, VENUE)
