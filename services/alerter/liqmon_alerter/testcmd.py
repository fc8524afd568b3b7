"""`liqmon alerts test`: one test message through every channel of the rules file.

Sends directly (no Redis, no queue), one attempt per channel, and prints what each
channel answered; exit status 0 when every channel accepted its message, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import httpx

from liqmon.alert import alert_document, probe_fields
from liqmon.clock import now_ms
from liqmon.logs import configure_logging
from liqmon.settings import load_settings

from .channels import USER_AGENT, attempt
from .main import load_configured_rules
from .redact import Redactor, install_log_filter
from .settings import AlerterSettings


async def send_probes(settings: AlerterSettings) -> int:
    rules = load_configured_rules(settings)
    redact = Redactor(rules.secret_values())
    install_log_filter(redact)
    doc = alert_document(probe_fields(now_ms(), [c.name for c in rules.channel]))
    failed = 0
    async with httpx.AsyncClient(
        timeout=settings.alerter_http_timeout_s, headers={"User-Agent": USER_AGENT}
    ) as client:
        outcomes = await asyncio.gather(
            *(attempt(client, c, doc, settings.telegram_api_url) for c in rules.channel)
        )
    for channel, outcome in zip(rules.channel, outcomes, strict=True):
        if outcome.kind == "sent":
            line = "sent"
        else:
            failed += 1
            line = f"FAILED ({'would retry' if outcome.kind == 'retry' else 'permanent'}): "
            line += redact(outcome.reason)
        sys.stdout.write(f"{channel.name} ({channel.type}): {line}\n")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="liqmon alerts", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("test", help="send one test message through every channel")
    parser.parse_args(argv)
    settings = load_settings(AlerterSettings)
    configure_logging("alerts", settings.log_level)
    return asyncio.run(send_probes(settings))
