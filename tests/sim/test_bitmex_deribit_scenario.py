"""The whole simulator -> `liqmon run collector-bitmex` / `collector-deribit` -> test Redis.

Each venue's scenario runs with its quirks - BitMEX orders that grow and then fill, re-price
and disappear; Deribit maker (`M`), taker (`T`) and both-sides (`MT`) liquidation trades among
ordinary trades - plus re-sent frames, broken frames and dropped connections, and what
arrives on the stream must equal the simulator's ledger: every liquidation once, per venue
and side to the cent (an `MT` trade is two ledger liquidations, and two events)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon_sim.venues.bitmex import BitmexServer
from liqmon_sim.venues.deribit import DeribitServer
from tests.collectors.servers import poll_until, status_is
from tests.sim.test_through_collectors import assert_stream_matches, collectors_on


async def _run_with_faults(sim: Any, venues: list[str], n: int) -> dict[str, Any]:
    # only this venue's collector listens: the burst goes to its venues
    run = await sim.control(
        "burst", n=n, rate=300, malformed_fraction=0.05, duplicate_fraction=0.05
    )
    await sim.control("disconnect", venue=venues[0], n=1, interval=0.5, mode="drop")
    await sim.wait_done(timeout=60, run=run["run"])
    return run


@pytest.mark.slow
async def test_bitmex_scenario_equals_the_ledger(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0)
    server = sim.server("bitmex")
    assert isinstance(server, BitmexServer)
    server.options.merge_probability = 0.5
    env = {**service_env, "LIQMON_COLLECTOR_STATUS_SECONDS": "0.2"}
    async with collectors_on(sim, env, tmp_path, ("collector-bitmex",)) as collectors:
        await _run_with_faults(sim, ["bitmex-inverse", "bitmex-linear", "bitmex-quanto"], 300)
        ledger = sim.ledger.totals
        assert {k.split("/")[0] for k in ledger.by_venue_side} == {
            "bitmex-inverse", "bitmex-linear", "bitmex-quanto",
        }  # fmt: skip
        assert server.stats["growths"] > 10 and ledger.malformed > 0 and ledger.duplicates > 0
        await status_is(redis, keys.collector_status("bitmex"), connected="1")
        await assert_stream_matches(redis, keys, ledger, collectors.stop)
        assert await redis.xlen(keys.deadletter) == ledger.malformed  # flushed: collectors stopped


@pytest.mark.slow
async def test_deribit_scenario_equals_the_ledger(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0)
    server = sim.server("deribit")
    assert isinstance(server, DeribitServer)
    server.options.heartbeat_seconds = 0.5  # many test_requests: each must be answered
    server.options.heartbeat_grace = 2.0
    env = {**service_env, "LIQMON_COLLECTOR_STATUS_SECONDS": "0.2"}
    async with collectors_on(sim, env, tmp_path, ("collector-deribit",)) as collectors:
        await _run_with_faults(sim, ["deribit-inverse", "deribit-linear"], 300)
        ledger = sim.ledger.totals
        assert {k.split("/")[0] for k in ledger.by_venue_side} == {
            "deribit-inverse", "deribit-linear",
        }  # fmt: skip
        assert ledger.malformed > 0 and ledger.duplicates > 0
        # an MT trade is two liquidations: same instrument, time and cents, both sides
        sides = Counter((e.instrument, e.ts, e.cents) for e in sim.ledger.entries if e.counted)
        assert any(n == 2 for n in sides.values())
        await poll_until(lambda: server.stats["test_answers"] >= 6, 15)
        assert server.stats["heartbeat_closes"] == 0
        await status_is(redis, keys.collector_status("deribit"), connected="1")
        await assert_stream_matches(redis, keys, ledger, collectors.stop)
        assert await redis.xlen(keys.deadletter) == ledger.malformed  # flushed: collectors stopped
