"""Entry point for `liqmon run collector-binance` (both Binance products in one process)."""

from __future__ import annotations

from liqmon.collector.service import CollectorService
from liqmon.logs import configure_logging
from liqmon.runtime import run_service
from liqmon.settings import load_settings
from liqmon_binance.settings import BinanceSettings
from liqmon_binance.venue import BinanceVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only
    settings = load_settings(BinanceSettings)
    configure_logging("collector-binance", settings.log_level)
    service = CollectorService(BinanceVenue(settings), settings)
    return run_service(service, shutdown_timeout=settings.collector_flush_seconds + 10.0)
