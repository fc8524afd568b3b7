"""kill -9 mid-burst loses nothing: the real `liqmon run alerter` process, SIGKILLed while
it delivers a burst, then started again; every alert reaches every channel, and at most
once more than once per channel (the documented case: killed after the 200, before the
record)."""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path

from redis.asyncio import Redis

from liqmon.clock import now_ms
from liqmon.keys import Keys
from tests.aggregator.factory import make_event
from tests.alerter.conftest import drained, publish
from tests.alerter.fakes import SECRETS, FakeServices, rules_toml, secrets_env, whale_rule
from tests.polling import poll
from tests.procs import ServiceProcess

N = 120
ALL = ("phone", "desk", "team", "bot")
RULES = whale_rule()


def prices(fakes: FakeServices, service: str) -> list[str]:
    """The price each delivered message names (every event has its own price)."""
    out = []
    for r in fakes.got(service):
        text = r.json.get("text") or r.json.get("content")
        out.append(text.split(" @ ")[1].split(" ")[0])
    return out


async def test_sigkill_mid_burst_loses_nothing(
    redis: Redis,
    keys: Keys,
    fakes: FakeServices,
    service_env: dict[str, str],
    rules_path: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    fakes.latency = 0.01
    env = {
        **service_env,
        **secrets_env(fakes),
        "LIQMON_ALERTS_FILE": str(rules_path(rules_toml(fakes, RULES))),
        "LIQMON_TELEGRAM_API_URL": fakes.url,
        "LIQMON_ALERTER_CONSUMER": "alert-a",
        "LIQMON_ALERTER_BLOCK_MS": "100",
        "LIQMON_ALERTER_JANITOR_MS": "500",
        "LIQMON_ALERTER_CLAIM_IDLE_MS": "1000",
        "LIQMON_ALERTER_SEND_LEASE_MS": "2000",
    }
    now = now_ms()
    events = [make_event(i, now - i, cents=200_000_000, price=f"{90_000 + i}.5") for i in range(N)]
    first = ServiceProcess("alerter", env, tmp_path).start()
    second = None
    try:
        await publish(redis, keys, events)
        await fakes.wait_for(lambda: len(fakes.got("webhook")) >= N // 4, timeout=60)
        first.kill()  # SIGKILL mid-burst
        delivered = {s: len(fakes.got(s)) for s in ("telegram", "discord", "slack", "webhook")}
        assert all(n < N for n in delivered.values()), delivered
        second = ServiceProcess("alerter", env, tmp_path).start()
        expected = sorted(f"{90_000 + i:,}.5" for i in range(N))
        for service in ("telegram", "discord", "slack", "webhook"):
            await fakes.wait_for(lambda s=service: len(set(prices(fakes, s))) == N, timeout=90)
        await poll(lambda: drained(redis, keys, ALL), 30, "every outbox to empty")
    finally:
        if second is not None:
            second.stop()
        first.kill()
    for service in ("telegram", "discord", "slack", "webhook"):
        got = prices(fakes, service)
        assert sorted(set(got)) == expected, service
        repeats = [p for p, n in collections.Counter(got).items() if n > 1]
        assert len(got) - N <= 1 and len(repeats) <= 1, (service, repeats)
    logs = first.log() + (second.log() if second else "")
    assert "alerting as alert-a" in logs
    for secret in SECRETS:
        assert secret not in logs, secret
