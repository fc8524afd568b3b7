"""Entry point for `liqmon run aggregator`."""

from __future__ import annotations

from liqmon.logs import configure_logging
from liqmon.runtime import run_service
from liqmon.settings import load_settings

from .service import AggregatorService
from .settings import AggregatorSettings


def main(argv: list[str]) -> int:
    del argv  # everything is configured through the environment
    settings = load_settings(AggregatorSettings)
    configure_logging("aggregator", settings.log_level)
    return run_service(AggregatorService(settings), shutdown_timeout=10.0)
