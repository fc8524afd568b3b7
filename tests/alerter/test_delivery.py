"""The real alerter against the fake Telegram, Discord, Slack and webhook servers."""

from __future__ import annotations

import hashlib
import hmac
import itertools

import orjson
from redis.asyncio import Redis

from liqmon.alert import alert_id
from liqmon.clock import now_ms
from liqmon.keys import Keys
from tests.aggregator.factory import make_event
from tests.alerter.conftest import alert_schema, drained, publish
from tests.alerter.fakes import HOOK_SECRET, SECRETS, FakeServices, whale_rule
from tests.polling import poll

ALL = ("phone", "desk", "team", "bot")
SERVICES = ("telegram", "discord", "slack", "webhook")
WHALE = whale_rule(symbols='["BTC", "ETH"]')
WHALE_TO_BOT = whale_rule(("bot",))


def counts(fakes: FakeServices) -> dict[str, int]:
    return {s: len(fakes.got(s)) for s in SERVICES}


async def test_each_qualifying_event_alerts_once_per_channel_and_nothing_else(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    now = now_ms()
    whales = [make_event(i, now - 1000 * i, cents=150_000_000 + i) for i in range(1, 4)]
    eth = make_event(10, now - 500, symbol="ETH", side="short", cents=100_000_000)  # exactly 1M
    small = make_event(11, now, cents=99_999_999)  # $999,999.99
    other_coin = make_event(12, now, symbol="SOL", cents=900_000_000)
    stale = make_event(13, now - 6 * 60_000, cents=900_000_000)  # older than 5 min
    future = make_event(14, now + 10 * 60_000, cents=900_000_000)
    async with alerter(WHALE):
        await publish(redis, keys, [*whales, eth, small, other_coin, stale, future])
        await publish(redis, keys, [whales[0], eth])  # duplicated by the exchange / a replica
        await fakes.wait_for(lambda: counts(fakes) == dict.fromkeys(SERVICES, 4))
        await publish(redis, keys, whales)  # replayed after a reconnect
        await poll(lambda: drained(redis, keys, ALL), 10, "the alerter to judge everything")
        stats = await redis.hgetall(keys.alerter_stats)
    assert counts(fakes) == dict.fromkeys(SERVICES, 4)
    assert stats["duplicates"] == "5" and stats["stale"] == "1" and stats["future"] == "1"
    ids = {alert_id("large", "whale", e.id) for e in [*whales, eth]}
    assert {r.json["id"] for r in fakes.got("webhook")} == ids
    texts = [r.json["text"] for r in fakes.got("telegram")]
    assert any(t.startswith("🟢 SHORT liquidated: ETH $1.00M") for t in texts)
    # the public stream has each alert once, newest last
    entries = await redis.xrange(keys.alerts)
    assert sorted(f["id"] for _, f in entries) == sorted(ids)


async def test_webhook_body_is_signed_and_carries_the_whole_event(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    event = make_event(1, now_ms(), cents=500_000_000, price="95123.4")
    async with alerter(WHALE_TO_BOT, channels=("bot",)):
        await publish(redis, keys, [event])
        await fakes.wait_for(lambda: len(fakes.got("webhook")) == 1)
    got = fakes.got("webhook")[0]
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["x-liqmon-signature"], expected)
    assert got.headers["x-liqmon-signature"] != "sha256=" + hashlib.sha256(got.body).hexdigest()
    doc = orjson.loads(got.body)
    alert_schema().validate(doc)
    assert doc["v"] == 1 and doc["rule"] == "whale" and doc["kind"] == "large"
    assert doc["id"] == alert_id("large", "whale", event.id)
    assert doc["event"]["id"] == event.id and doc["event"]["usd"] == 5_000_000.0
    assert doc["event"]["price"] == "95123.4" and doc["event"]["symbol"] == "BTC"
    assert "$5.00M" in doc["text"] and "95,123.4" in doc["text"]


async def test_429_and_5xx_are_retried_to_success(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    fakes.plan("telegram", "429", "500")
    fakes.plan("discord", "429", "502")
    fakes.plan("slack", "429", "503")
    fakes.plan("webhook", "500", "429")
    event = make_event(1, now_ms(), cents=200_000_000)
    async with alerter(WHALE):
        await publish(redis, keys, [event])
        await fakes.wait_for(lambda: counts(fakes) == dict.fromkeys(SERVICES, 1), timeout=30)
        await poll(lambda: drained(redis, keys, ALL), 10, "every outbox to empty")
        states = {c: await redis.hgetall(keys.alerter_channel(c)) for c in ALL}
    assert counts(fakes) == dict.fromkeys(SERVICES, 1)
    assert fakes.attempts == dict.fromkeys(SERVICES, 3)
    # each 429 was waited out as the service asked (lower bounds: load only adds)
    gap = {s: [b - a for a, b in itertools.pairwise(t)] for s, t in fakes.times.items()}
    assert gap["telegram"][0] >= 0.95  # parameters.retry_after = 1
    assert gap["discord"][0] >= 0.19  # body retry_after = 0.2 (the header says 1)
    assert gap["slack"][0] >= 0.95  # Retry-After: 1
    assert gap["webhook"][1] >= 0.95  # 500 first, then 429 with Retry-After: 1
    for channel, state in states.items():
        assert state["sent"] == "1" and state["retries"] == "2", channel
        assert state["state"] == "ok"


async def test_permanent_errors_are_dead_lettered_and_others_still_deliver(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    fakes.plan("discord", "gone")
    fakes.plan("slack", "gone")
    async with alerter(WHALE):
        await publish(redis, keys, [make_event(1, now_ms(), cents=200_000_000)])
        await poll(lambda: drained(redis, keys, ALL), 20, "every outbox to empty")
        letters = await redis.xrange(keys.alerter_deadletter)
        dumped = [
            str(v) for k in await redis.keys("liq:v1:alert*") for v in await _values(redis, k)
        ]
    assert counts(fakes) == {"telegram": 1, "discord": 0, "slack": 0, "webhook": 1}
    reasons = {f["channel"]: f["reason"] for _, f in letters}
    assert reasons == {
        "desk": "HTTP 404: Unknown Webhook",
        "team": "HTTP 410: channel_is_archived",
    }
    for secret in SECRETS:  # nothing the alerter stored in Redis carries a secret
        assert not any(secret in text for text in dumped), secret


async def _values(redis: Redis, key: str) -> list[object]:
    kind = await redis.type(key)
    if kind == "hash":
        return list((await redis.hgetall(key)).items())
    if kind == "stream":
        return list(await redis.xrange(key))
    if kind == "string":
        return [await redis.get(key)]
    return []


async def test_a_hanging_channel_does_not_delay_the_others(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    fakes.plan("slack", "hang")
    now = now_ms()
    events = [make_event(i, now - i, cents=300_000_000) for i in range(1, 6)]
    async with alerter(WHALE, alerter_http_timeout_s=60):
        await publish(redis, keys, events)
        # every other channel gets all five while Slack still holds its first request
        await fakes.wait_for(
            lambda: all(len(fakes.got(s)) == 5 for s in ("telegram", "discord", "webhook"))
        )
        assert len(fakes.got("slack")) == 0 and fakes.attempts["slack"] == 1
        fakes.release()  # Slack answers 503, then takes the rest
        await fakes.wait_for(lambda: len(fakes.got("slack")) == 5)
    assert counts(fakes) == dict.fromkeys(SERVICES, 5)
