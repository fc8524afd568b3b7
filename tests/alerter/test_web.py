"""Alerts in the web service: GET /api/alerts, SSE `event: alert`, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from liqmon.alert import alert_id
from liqmon.clock import now_ms
from liqmon.keys import Keys
from tests.aggregator.factory import make_event
from tests.alerter.conftest import drained, publish
from tests.alerter.fakes import SECRETS, FakeServices, whale_rule
from tests.polling import poll
from tests.web.helpers import live_server, settings_for, sse

ALL = ("phone", "desk", "team", "bot")
RULES = whale_rule()


@pytest.fixture
async def client(redis_url: str, redis: Redis) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        live_server(settings_for(redis_url, web_summary_cache_ms=0)) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        yield http


async def test_alerts_api_stream_health_and_metrics(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter, client: httpx.AsyncClient
) -> None:
    now = now_ms()
    events = [make_event(i, now - i, cents=(200 + i) * 1_000_000) for i in range(1, 6)]
    fakes.plan("discord", *["gone"] * 5)  # desk refuses: dead letters, shown in health
    async with alerter(RULES), sse(client, "/api/stream") as stream:
        await publish(redis, keys, events[:1])
        frame = await stream.until("alert", timeout=15)
        await publish(redis, keys, events[1:])
        await poll(lambda: drained(redis, keys, ALL), 20, "every outbox to empty")
        pages = [await client.get("/api/alerts", params={"limit": 2})]
        while (nxt := pages[-1].json()["next"]) is not None:
            pages.append(await client.get("/api/alerts", params={"limit": 2, "cursor": nxt}))
        health = (await client.get("/api/health")).json()
        metrics = (await client.get("/metrics")).text
    alert = frame.json()
    assert alert["id"] == alert_id("large", "whale", events[0].id)
    assert alert["event"]["id"] == events[0].id and alert["kind"] == "large"
    assert alert["text"].startswith("🔴 LONG liquidated: BTC $2.01M")
    items = [item for page in pages for item in page.json()["items"]]
    assert [len(p.json()["items"]) for p in pages] == [2, 2, 1]
    # newest first: the alerts fired in event order, so the last event comes first
    assert [i["event"]["id"] for i in items] == [e.id for e in reversed(events)]
    assert all(
        i["deliveries"] == {"phone": "sent", "desk": "dead", "team": "sent", "bot": "sent"}
        for i in items
    )
    channels = health["alerter"]["channels"]
    assert health["alerter"]["configured"] and health["alerter"]["alive"]
    assert channels["phone"]["sent"] == 5 and channels["phone"]["state"] == "ok"
    assert channels["desk"]["deadlettered"] == 5 and channels["desk"]["state"] == "failing"
    assert "alert channel desk failing: HTTP 404: Unknown Webhook" in health["reasons"]
    assert health["status"] == "degraded"
    assert 'liqmon_alerter_sent_total{channel="phone",type="telegram"} 5' in metrics
    assert 'liqmon_alerter_deadlettered_total{channel="desk",type="discord"} 5' in metrics
    assert 'liqmon_alerter_channel_ok{channel="desk",type="discord"} 0' in metrics
    answers = str(items) + str(health) + metrics
    for secret in SECRETS:
        assert secret not in answers


async def test_alerts_page_parameters_are_validated(client: httpx.AsyncClient) -> None:
    empty = await client.get("/api/alerts")
    assert empty.status_code == 200 and empty.json() == {"items": [], "next": None}
    bad = await client.get("/api/alerts", params={"limit": 0})
    assert bad.status_code == 422 and "limit" in bad.json()["error"]
    bad = await client.get("/api/alerts", params={"cursor": "yesterday"})
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]
    health = (await client.get("/api/health")).json()
    assert health["alerter"] == {"configured": False}
