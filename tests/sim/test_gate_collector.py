"""The Gate collector against the simulator's Gate server: both frame shapes, sampling,
`futures.ping`, every liquidation once as the ledger says, and the side convention: checked
against the REST history while running, and switched when the venue uses the other one."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon_sim.ledger import Totals
from tests.collectors.conftest import stream_events
from tests.collectors.servers import poll_until, status_is, stream_reaches
from tests.sim.conftest import until
from tests.sim.htxgate import collecting, gate_service
from tests.sim.test_through_collectors import assert_stream_matches

VENUES = ("gate-usdt",)


async def notes(redis: Redis, keys: Keys) -> dict[str, str]:
    raw = await redis.hget(keys.collector_status("gate"), "notes")
    return orjson.loads(raw) if raw else {}


async def test_a_sampled_run_arrives_once_each_equal_to_the_ledger(
    make_sim: Any, redis: Redis, redis_url: str, keys: Keys
) -> None:
    sim = await make_sim(sim_gate_sampling_ms=100)
    service = gate_service(sim, redis_url)
    async with collecting(sim, service, VENUES) as stop:
        run = await sim.control("burst", n=300, rate=1000, duplicate_fraction=0.05)
        await sim.wait_done(timeout=30, run=run["run"])
        ledger = sim.ledger.totals
        assert ledger.count == 300 and sim.ledger.suppressed["gate-usdt"] > 0  # sampled
        server = sim.by_name["gate"]
        await until(lambda: server.stats["app_pings"] >= 2)  # futures.ping, answered
        assert all(c.decimal_sizes for c in server.conns)  # X-Gate-Size-Decimal sent
        status = await status_is(redis, keys.collector_status("gate"), connected="1")
        assert status["reconnects"] == "0" and status["deadletters"] == "0"

        async def confirmed() -> bool:
            return int((await notes(redis, keys)).get("side_matched", "0")) >= 10

        await poll_until(confirmed)
        seen = await notes(redis, keys)
        assert seen["side_convention"] == "order" and seen["side_votes_position"] == "0"
        assert seen["side_basis"].startswith("REST liq_orders history")
        await assert_stream_matches(redis, keys, ledger, stop)
    events = await stream_events(redis, keys)
    assert {(e.sampled, e.price_kind, e.margin) for e in events} == {(True, "order", "linear")}


async def test_the_other_convention_is_detected_and_followed_from_then_on(
    make_sim: Any, redis: Redis, redis_url: str, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    """The venue signs sizes by POSITION; the collector starts with the ORDER reading, so
    its first liquidations have the wrong side, until the REST history outvotes it."""
    sim = await make_sim(sim_gate_sampling_ms=0, sim_gate_side_convention="position")
    service = gate_service(sim, redis_url, gate_side_check_delay_seconds=1.0)
    caplog.set_level(logging.ERROR, logger="liqmon_gate.side")
    async with collecting(sim, service, VENUES):
        before = await notes(redis, keys)
        assert before["side_convention"] == "order" and before["side_matched"] == "0"
        first = await sim.control("burst", n=30, rate=2000)
        await sim.wait_done(timeout=10, run=first["run"])
        await stream_reaches(redis, keys, 30)

        async def switched() -> bool:
            return (await notes(redis, keys)).get("side_convention") == "position"

        await poll_until(switched, timeout=15)
        second = await sim.control("burst", n=60, rate=2000)
        await sim.wait_done(timeout=10, run=second["run"])
        await stream_reaches(redis, keys, 90)
        after = await notes(redis, keys)
    events = await stream_events(redis, keys)
    assert len(events) == 90
    # Before the switch every side was mirrored; after it every side is the ledger's.
    assert cells(events[:30]) == mirrored(sim.ledger.run_totals(first["run"]))
    assert cells(events[30:]) == plain(sim.ledger.run_totals(second["run"]))
    assert after["side_convention"] == "position" and after["side_votes_order"] == "0"
    assert int(after["side_matched"]) >= 1 and "agree" in after["side_basis"]
    assert int(after["side_switched_at"]) > 0
    loud = [r for r in caplog.records if "SIDE CONVENTION SWITCHED" in r.getMessage()]
    assert len(loud) == 1


def cells(events: list[Any]) -> dict[str, list[int]]:
    out: Counter[str] = Counter()
    usd: Counter[str] = Counter()
    for e in events:
        out[f"gate-usdt/{e.side}"] += 1
        usd[f"gate-usdt/{e.side}"] += e.usd_cents
    return {k: [out[k], usd[k]] for k in out}


def plain(totals: Totals) -> dict[str, list[int]]:
    return {k: [v[0], v[1]] for k, v in totals.by_venue_side.items()}


def mirrored(totals: Totals) -> dict[str, list[int]]:
    flip = {"long": "short", "short": "long"}
    return {
        f"{k.split('/')[0]}/{flip[k.split('/')[1]]}": [v[0], v[1]]
        for k, v in totals.by_venue_side.items()
    }
