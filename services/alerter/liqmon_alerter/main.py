"""Entry point for `liqmon run alerter`: refuse to start on a bad rules file."""

from __future__ import annotations

import os
import sys

from liqmon.logs import configure_logging
from liqmon.runtime import run_service
from liqmon.settings import env_name, load_settings

from .redact import Redactor, install_log_filter
from .rules import RulesError, RulesFile, load_rules
from .service import AlerterService
from .settings import AlerterSettings


def load_configured_rules(settings: AlerterSettings) -> RulesFile:
    """The rules of `LIQMON_ALERTS_FILE`; on any problem print it and exit with status 2."""
    if settings.alerts_file is None:
        var = env_name(AlerterSettings, "alerts_file")
        sys.stderr.write(f"liqmon alerter: {var} is not set (the rules file, see docs/ALERTS.md)\n")
        raise SystemExit(2)
    try:
        return load_rules(settings.alerts_file, os.environ)
    except RulesError as exc:
        sys.stderr.write(f"liqmon alerter: invalid rules file:\n{exc}\n")
        raise SystemExit(2) from None


def main(argv: list[str]) -> int:
    del argv  # everything is configured through the environment and the rules file
    settings = load_settings(AlerterSettings)
    rules = load_configured_rules(settings)
    configure_logging("alerter", settings.log_level)
    install_log_filter(Redactor(rules.secret_values()))
    service = AlerterService(settings, rules)
    return run_service(service, shutdown_timeout=settings.alerter_http_timeout_s + 5.0)
