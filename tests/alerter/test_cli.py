"""`liqmon alerts test` through every channel, and secrets kept out of every log line."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon_alerter.redact import RedactingFilter, Redactor
from tests.alerter.fakes import SECRETS, TG_TOKEN, FakeServices, rules_toml, secrets_env, whale_rule
from tests.polling import poll

RULE = whale_rule()


async def run_cli(env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "liqmon", "alerts", "test",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return int(proc.returncode or 0), out.decode()


async def test_alerts_test_sends_one_message_per_channel(
    fakes: FakeServices, service_env: dict[str, str], rules_path: Callable[[str], Path]
) -> None:
    env = {
        **service_env,
        **secrets_env(fakes),
        "LIQMON_ALERTS_FILE": str(rules_path(rules_toml(fakes, RULE))),
        "LIQMON_TELEGRAM_API_URL": fakes.url,
        "LIQMON_LOG_LEVEL": "DEBUG",
    }
    code, out = await run_cli(env)
    assert code == 0, out
    for line in ("phone (telegram): sent", "desk (discord): sent", "team (slack): sent"):
        assert line in out
    assert [len(fakes.got(s)) for s in ("telegram", "discord", "slack", "webhook")] == [1] * 4
    assert fakes.got("webhook")[0].json["kind"] == "test"
    fakes.plan("discord", "gone")
    code, out = await run_cli(env)
    assert code == 1 and "desk (discord): FAILED (permanent): HTTP 404: Unknown Webhook" in out
    for secret in SECRETS:
        assert secret not in out


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redact")
    caplog.handler.addFilter(RedactingFilter(Redactor([TG_TOKEN])))
    with caplog.at_level(logging.INFO, logger="tests.redact"):
        logger.info("POST https://api.telegram.org/bot%s/sendMessage", TG_TOKEN)
        try:
            raise RuntimeError(f"boom {TG_TOKEN}")
        except RuntimeError:
            logger.exception("failed")
    assert TG_TOKEN not in caplog.text
    assert "bot***/sendMessage" in caplog.text and "boom ***" in caplog.text


def test_liqmon_up_runs_the_alerter_only_with_a_rules_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from liqmon.launcher import STOP_ORDER, planned_services

    monkeypatch.delenv("LIQMON_ALERTS_FILE", raising=False)
    assert "alerter" not in planned_services(False, False, "")
    monkeypatch.setenv("LIQMON_ALERTS_FILE", "/etc/liqmon/alerts.toml")
    assert planned_services(False, False, "")[-1] == "alerter"  # started last
    # stopped after the aggregator's last batch and before the web service
    assert STOP_ORDER.index("aggregator") < STOP_ORDER.index("alerter") < STOP_ORDER.index("web")


async def test_container_healthcheck_follows_the_heartbeat(
    redis: Redis, keys: Keys, service_env: dict[str, str], alerter
) -> None:
    async def healthcheck() -> int:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "liqmon.healthcheck", "alerter", env=service_env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return await asyncio.wait_for(proc.wait(), 30)

    assert await healthcheck() == 1  # no alerter ever ran
    async with alerter(RULE):

        async def beating() -> bool:
            return bool(await redis.zcard(keys.alerter_consumers))

        await poll(beating, 10, "the first heartbeat")
        assert await healthcheck() == 0
