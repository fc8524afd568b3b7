"""Fixtures: the fake services, and the real alerter run in-process on the test Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from redis.asyncio import Redis

from liqmon.bus import append_events
from liqmon.event import LiquidationEvent
from liqmon.keys import ALERTER_GROUP, Keys
from liqmon.runtime import serve
from liqmon_alerter.rules import parse_rules
from liqmon_alerter.service import AlerterService
from liqmon_alerter.settings import AlerterSettings
from tests.alerter.fakes import FakeServices, rules_toml, secrets_env

RETENTION_MS = 48 * 3_600_000
REPO = Path(__file__).resolve().parents[2]


def alert_schema() -> Any:
    """A validator of docs/EVENTS.md's alert document schema (the docs stay true)."""
    text = (REPO / "docs" / "EVENTS.md").read_text(encoding="utf-8")
    block = re.search(r"## Alert document JSON Schema.*?```json\n(.*?)```", text, re.S)
    assert block, "EVENTS.md lost its alert JSON Schema"
    return jsonschema_rs.validator_for(json.loads(block.group(1)))


async def drained(redis: Redis, keys: Keys, channels: tuple[str, ...]) -> bool:
    """The alerter judged every event and every outbox is empty (sent or dead-lettered)."""
    groups = await redis.xinfo_groups(keys.events)
    mine = [g for g in groups if g["name"] == ALERTER_GROUP]
    if not mine or mine[0]["pending"] or mine[0].get("lag"):
        return False
    for name in channels:
        if await redis.xlen(keys.alerter_outbox(name)):
            return False
    return True


@pytest.fixture
async def fakes() -> AsyncIterator[FakeServices]:
    services = await FakeServices().start()
    yield services
    await services.stop()


class Alerter:
    """The real AlerterService on the test Redis, in this event loop."""

    def __init__(self, redis_url: str, fakes: FakeServices, rules: str, **settings: Any) -> None:
        self.text = rules_toml(
            fakes,
            rules,
            channels=settings.pop("channels", None) or ("phone", "desk", "team", "bot"),
        )
        env = {**os.environ, **secrets_env(fakes)}
        self.rules = parse_rules(self.text, "rules.toml", env)
        self.settings = AlerterSettings(
            redis_url=redis_url,
            telegram_api_url=fakes.url,
            alerter_block_ms=100,
            alerter_retry_base_ms=50,
            alerter_janitor_ms=500,
            **settings,
        )
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Alerter:
        service = AlerterService(self.settings, self.rules)
        self.task = asyncio.create_task(serve(service, stop=self.stop, shutdown_timeout=5))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self.task, 15)


@pytest.fixture
def alerter(redis_url: str, fakes: FakeServices) -> Callable[..., Alerter]:
    def make(rules: str, **settings: Any) -> Alerter:
        return Alerter(redis_url, fakes, rules, **settings)

    return make


async def publish(redis: Redis, keys: Keys, events: list[LiquidationEvent]) -> None:
    await append_events(redis, keys, events, retention_ms=RETENTION_MS)


@pytest.fixture
def rules_path(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "rules.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write
