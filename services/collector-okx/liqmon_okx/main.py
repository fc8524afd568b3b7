"""Entry point for `liqmon run collector-okx` (SWAP and FUTURES on one connection)."""

from __future__ import annotations

from liqmon.collector.service import CollectorService
from liqmon.logs import configure_logging
from liqmon.runtime import run_service
from liqmon.settings import load_settings
from liqmon_okx.settings import OkxSettings
from liqmon_okx.venue import OkxVenue


def main(argv: list[str]) -> int:
    del argv  # configured through the environment only
    settings = load_settings(OkxSettings)
    configure_logging("collector-okx", settings.log_level)
    service = CollectorService(OkxVenue(settings), settings)
    return run_service(service, shutdown_timeout=settings.collector_flush_seconds + 10.0)
