"""Crash safety with real processes: SIGKILL an aggregator in the middle of a 20,000-event
replay, start it again plus a second one; every window equals the brute-force model."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

from redis.asyncio import Redis

from liqmon import views
from liqmon.bus import append_events
from liqmon.keys import Keys
from liqmon_aggregator.testing import backlog
from tests.aggregator.factory import make_event
from tests.aggregator.model import Model, assert_window_stored
from tests.procs import ServiceProcess

N_EVENTS = 20_000


async def wait_for(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def replay(now: int) -> list:  # type: ignore[type-arg]
    rng = random.Random(4)
    events = []
    for n in range(N_EVENTS):
        events.append(
            make_event(
                n,
                now - rng.randrange(0, 50 * 60_000),
                symbol=rng.choice(["BTC", "ETH", "SOL", "DOGE", "XRP"]),
                side=rng.choice(["long", "short"]),
                exchange=rng.choice(["binance", "okx", "bybit"]),
                cents=rng.choice([100, 2_500, rng.randrange(1, 10**9)]),
                price=rng.choice(["95000.5", "3100.25", "0.1234"]),
                sampled=rng.random() < 0.3,
            )
        )
        if rng.random() < 0.05:  # the exchange (or a reconnect) sends it again
            events.append(events[-1])
    return events


async def test_sigkill_mid_replay_then_two_processes(
    redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **service_env,
        "LIQMON_AGGREGATOR_CLAIM_IDLE_MS": "1000",
        "LIQMON_AGGREGATOR_JANITOR_MS": "500",
        "LIQMON_AGGREGATOR_LEASE_MS": "2000",
        "LIQMON_AGGREGATOR_BATCH": "100",
        "LIQMON_AGGREGATOR_SELFCHECK_MS": "300",
    }
    now = time.time_ns() // 1_000_000
    events = replay(now)
    first = ServiceProcess("aggregator", env, tmp_path).start()
    others: list[ServiceProcess] = []
    try:
        half = len(events) // 2
        for i in range(0, half, 1000):
            await append_events(redis, keys, events[i : i + 1000], retention_ms=48 * 3_600_000)

        async def some_applied() -> bool:
            applied = await redis.hget(keys.agg_stats(1), "applied")
            return applied is not None and int(applied) >= 3_000

        await wait_for(some_applied, 30, "the first aggregator to apply 3,000 events")
        first.kill()  # SIGKILL mid-replay: its batch in flight is not acked
        assert (await backlog(redis, keys)) != (0, 0)
        for i in range(half, len(events), 1000):
            await append_events(redis, keys, events[i : i + 1000], retention_ms=48 * 3_600_000)
        others = [ServiceProcess("aggregator", env, tmp_path).start() for _ in range(2)]

        async def drained() -> bool:
            return await backlog(redis, keys) == (0, 0)

        await wait_for(drained, 45, "both aggregators to drain the stream")
        names = set()
        for proc in others:
            names |= {
                line.split("consuming as ")[1].split()[0]
                for line in proc.log().splitlines()
                if "consuming as" in line
            }
        assert len(names) == 2  # distinct leased consumer names
        drained_ms = int((await redis.time())[0]) * 1000 + 1000

        async def checked() -> bool:  # a self-check ran over the final state
            return int(await redis.hget(keys.agg_stats(1), "checked_ms") or 0) > drained_ms

        await wait_for(checked, 10, "a self-check after the drain")
        for proc in others:
            started = time.monotonic()
            assert proc.stop() == 0, proc.log()  # SIGTERM: finish the batch, exit 0
            assert time.monotonic() - started < 5
    finally:
        for proc in [first, *others]:
            proc.kill()

    model = Model(max_future_ms=300_000)
    for event in events:
        model.apply(now, event)
    wm = await redis.hgetall(keys.agg_watermarks(1))
    model.wm = {w: int(v) for w, v in wm.items()}
    summary = await views.read_summary(redis, keys, top=10)
    for w in views.WINDOWS:
        want = await assert_window_stored(redis, keys, model, w)
        largest = summary["windows"][w]["largest"]
        assert (largest["id"], round(largest["usd"] * 100)) == want["largest"], w
    health = await views.read_aggregator_health(redis, keys)
    assert health["applied"] == len(model.applied)
    assert health["applied"] + health["duplicates"] >= len(events)  # redeliveries count too
    assert health["deadlettered"] == 0
    assert health["lag"] == 0 and health["pending"] == 0
    assert health["drift_cents"] == 0
    assert await redis.hget(keys.agg_stats(1), "drift_other") == "0"
