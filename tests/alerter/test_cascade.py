"""Cascades: a sliding event-time window per key, one alert per episode, cooldown."""

from __future__ import annotations

import random

import pytest
from redis.asyncio import Redis

from liqmon.alert import alert_id
from liqmon.clock import now_ms
from liqmon.keys import Keys
from tests.aggregator.factory import make_event
from tests.alerter.conftest import alert_schema, drained, publish
from tests.alerter.fakes import FakeServices
from tests.polling import poll

CASCADE = """
[[rule]]
name = "btc-long-cascade"
kind = "cascade"
window = "10s"
min_usd = 1_000_000
symbols = ["BTC"]
side = "long"
cooldown = "20s"
channels = ["bot"]
"""
PER_COIN = """
[[rule]]
name = "any-coin"
kind = "cascade"
window = "1m"
min_usd = 500_000
per = "symbol"
channels = ["bot"]
"""
K = 100  # cents per dollar


async def test_a_cascade_fires_once_per_episode(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    t0 = (now_ms() - 120_000) // 1000 * 1000
    n = iter(range(1, 1000))

    def ev(dt_s: float, usd: int, **kw: object):  # type: ignore[no-untyped-def]
        return make_event(next(n), t0 + int(dt_s * 1000), cents=usd * K, **kw)  # type: ignore[arg-type]

    episode1 = [ev(0, 400_000), ev(3, 450_000), ev(5, 300_000)]  # 1.15M within 10 s
    during = [
        ev(6, 500_000),  # same episode: no second alert
        ev(6.5, 9_000_000, side="short"),  # other side
        ev(7, 9_000_000, symbol="ETH"),  # other coin
    ]
    episode2 = [ev(30, 1_200_000), ev(32, 200_000)]  # the sum fell to 0 in between
    cooled = [ev(45, 1_100_000)]  # fell below again, but only 15 s after the last alert
    async with alerter(CASCADE, channels=("bot",)):
        await publish(redis, keys, episode1 + during)
        await publish(redis, keys, [episode1[1]])  # a duplicate must not count twice
        await publish(redis, keys, episode2 + cooled)
        await publish(redis, keys, episode1 + during + episode2 + cooled)  # a replay
        await poll(lambda: drained(redis, keys, ("bot",)), 15, "the alerter to judge all")
        await fakes.wait_for(lambda: len(fakes.got("webhook")) == 2)
    docs = [r.json for r in fakes.got("webhook")]
    assert len(docs) == 2
    for doc in docs:
        alert_schema().validate(doc)
    first, second = (d["cascade"] for d in docs)
    assert docs[0]["id"] == alert_id("cascade", "btc-long-cascade", "*|long", str(t0 + 5000))
    assert first["total_cents"] == 1_150_000 * K and first["count"] == 3
    assert first["largest"]["usd"] == 450_000.0 and first["largest"]["id"] == episode1[1].id
    assert first["window"] == "10s" and first["side"] == "long" and first["coin"] is None
    assert first["scope"] == "BTC"
    assert first["start_ts"] == t0 - 4000 and first["end_ts"] == t0 + 5999
    assert second["total_cents"] == 1_200_000 * K and second["count"] == 1
    assert docs[1]["ts"] == t0 + 30_000
    assert "BTC LONG cascade: $1.15M in 10s" in docs[0]["text"]
    assert "3 liquidations · largest $450.0K" in docs[0]["text"]


async def test_per_symbol_cascades_are_separate(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    t0 = now_ms() - 30_000
    events = [
        make_event(1, t0, symbol="SOL", cents=300_000 * K),
        make_event(2, t0 + 1000, symbol="DOGE", cents=300_000 * K),
        make_event(3, t0 + 2000, symbol="SOL", cents=300_000 * K),  # SOL crosses 500k
        make_event(4, t0 + 3000, symbol="DOGE", cents=100_000 * K, side="short"),
        make_event(5, t0 + 4000, symbol="DOGE", cents=300_000 * K),  # DOGE long crosses
    ]
    async with alerter(PER_COIN, channels=("bot",)):
        await publish(redis, keys, events)
        await fakes.wait_for(lambda: len(fakes.got("webhook")) == 2)
        await poll(lambda: drained(redis, keys, ("bot",)), 10, "the alerter to judge all")
    coins = sorted(
        (r.json["cascade"]["coin"], r.json["cascade"]["count"]) for r in fakes.got("webhook")
    )
    assert coins == [("DOGE", 2), ("SOL", 2)]


async def test_an_entry_the_script_refuses_is_skipped_not_stalling_the_rest(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter
) -> None:
    rules = PER_COIN.replace('per = "symbol"', 'per = "symbol"\nsymbols = ["DOGE"]')
    rules += '\n[[rule]]\nname = "whale"\nkind = "large"\nmin_usd = 1_000_000\nchannels = ["bot"]\n'
    await redis.set(keys.alerter_cascade("any-coin", "DOGE|long"), "not a hash")
    now = now_ms()
    poison = make_event(1, now, symbol="DOGE", cents=200_000_000)
    whale = make_event(2, now, cents=300_000_000)
    async with alerter(rules, channels=("bot",)):
        await publish(redis, keys, [poison, whale])
        await fakes.wait_for(lambda: len(fakes.got("webhook")) == 2)
        await poll(lambda: drained(redis, keys, ("bot",)), 10, "the alerter to judge all")
        stats = await redis.hgetall(keys.alerter_stats)
    # the DOGE whale fired before its cascade step failed; the BTC whale is not held up
    assert sorted(r.json["event"]["symbol"] for r in fakes.got("webhook")) == ["BTC", "DOGE"]
    assert stats["errors"] == "1"


def model_fires(events, window_s: int, min_cents: int, cooldown_ms: int):  # type: ignore[no-untyped-def]
    """The cascade semantics of docs/ALERTS.md, by brute force over whole windows:
    (ts, total, count) of each alert, for one key, events in arrival order."""
    seen: set[str] = set()
    kept: list[tuple[int, int]] = []  # (second, cents) of the events in some window
    cur: int | None = None
    active, last_fire, fires = False, None, []
    for ev in events:
        if ev.id in seen:
            continue
        seen.add(ev.id)
        sec = ev.ts // 1000
        cur = sec if cur is None else max(cur, sec)
        inside = [(s, c) for s, c in kept if s > cur - window_s]
        if active and sum(c for _, c in inside) < min_cents:
            active = False
        if sec <= cur - window_s:
            continue  # too late for the window: changes nothing
        kept.append((sec, ev.usd_cents))
        inside.append((sec, ev.usd_cents))
        total = sum(c for _, c in inside)
        if (
            total >= min_cents
            and not active
            and (last_fire is None or ev.ts - last_fire >= cooldown_ms)
        ):
            active, last_fire = True, ev.ts
            fires.append((ev.ts, total, len(inside)))
    return fires


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_cascades_match_a_brute_force_model(
    redis: Redis, keys: Keys, fakes: FakeServices, alerter, seed: int
) -> None:
    rng = random.Random(seed)
    t0 = now_ms() - 150_000
    events = []
    for n in range(300):
        ts = t0 + n * 400 + rng.randrange(-3000, 3000)  # out of order by up to 3 s
        events.append(make_event(n + 1, ts, cents=rng.choice([10, 50, 200]) * 1000 * K))
        if rng.random() < 0.1:
            events.append(rng.choice(events))  # a duplicate, any time later
    rules = (
        CASCADE.replace('window = "10s"', 'window = "5s"')
        .replace('cooldown = "20s"', 'cooldown = "7s"')
        .replace("min_usd = 1_000_000", "min_usd = 400_000")
    )
    async with alerter(rules, channels=("bot",)):
        await publish(redis, keys, events)
        await poll(lambda: drained(redis, keys, ("bot",)), 20, "the alerter to judge all")
        stored = [f for _, f in await redis.xrange(keys.alerts)]
    got = [(int(f["ts"]), int(f["total_cents"]), int(f["count"])) for f in stored]
    expected = model_fires(events, 5, 400_000 * K, 7000)
    assert len(expected) >= 3  # the scenario has several episodes
    assert got == expected
