"""Several alerter processes: shared work, never a second send; a dead one's deliveries
are left alone while its lease lives and taken over once it lapsed."""

from __future__ import annotations

import collections
import time

import orjson
from redis.asyncio import Redis

from liqmon.alert import ALERT_VERSION, alert_id
from liqmon.clock import now_ms
from liqmon.consumer_group import ensure_group
from liqmon.keys import ALERTER_GROUP, Keys
from tests.aggregator.factory import make_event
from tests.alerter.conftest import drained, publish
from tests.alerter.fakes import FakeServices, whale_rule
from tests.polling import poll

ALL = ("phone", "desk", "team", "bot")
RULES = whale_rule()
BOT_ONLY = whale_rule(("bot",))


async def test_two_replicas_send_each_alert_once_per_channel(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    now = now_ms()
    events = [make_event(i, now - i, cents=150_000_000, price=f"{1000 + i}.5") for i in range(80)]
    fakes.plan("slack", "500", "429")  # retries on one replica must not let the other send
    async with alerter(RULES, alerter_consumer="a"), alerter(RULES, alerter_consumer="b"):
        await publish(redis, keys, events[:40])
        await publish(redis, keys, events)  # half of them twice
        for service in ("telegram", "discord", "slack", "webhook"):
            await fakes.wait_for(lambda s=service: len(fakes.got(s)) >= 80, timeout=30)
        await poll(lambda: drained(redis, keys, ALL), 20, "every outbox to empty")
    for service in ("telegram", "discord", "slack", "webhook"):
        bodies = collections.Counter(r.body for r in fakes.got(service))
        assert len(bodies) == 80 and set(bodies.values()) == {1}, service


async def test_a_dead_owners_delivery_waits_for_its_lease_then_is_taken_over(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    event = make_event(1, now_ms(), cents=300_000_000)
    aid = alert_id("large", "whale", event.id)
    fields = {
        "v": ALERT_VERSION, "id": aid, "rule": "whale", "kind": "large", "channels": "bot",
        "fired_at": str(now_ms()), "ts": str(event.ts),
        "event": orjson.dumps(event.to_json_dict()).decode(),
    }  # fmt: skip
    outbox = keys.alerter_outbox("bot")
    await ensure_group(redis, outbox, ALERTER_GROUP, "0")
    await redis.xadd(outbox, fields)  # type: ignore[arg-type]
    # a process "ghost" took the entry and started sending, then died; its lease runs 1.5 s
    await redis.xreadgroup(ALERTER_GROUP, "ghost", {outbox: ">"})
    lease_until = now_ms() + 1500
    await redis.set(keys.alerter_sent("bot", aid), f"sending|ghost/1|{lease_until}")
    settings = {"alerter_consumer": "a", "alerter_claim_idle_ms": 100, "channels": ("bot",)}
    async with alerter(BOT_ONLY, **settings):
        await fakes.wait_for(lambda: len(fakes.got("webhook")) == 1, timeout=20)
        sent_at = time.time_ns() // 1_000_000
        await poll(lambda: drained(redis, keys, ("bot",)), 10, "the outbox to empty")
        state = await redis.hgetall(keys.alerter_channel("bot"))
    assert sent_at >= lease_until  # not before the ghost's lease lapsed
    assert fakes.got("webhook")[0].json["id"] == aid
    assert state["takeovers"] == "1" and state["sent"] == "1"
    assert (await redis.get(keys.alerter_sent("bot", aid))).startswith("sent|")
