"""Simulator -> `liqmon run collector-bybit` -> test Redis, and all three collectors at once.

The Bybit collector lists the simulator's instruments over REST (paginated), subscribes every
topic, and must write each liquidation the ledger lists exactly once with the ledger's totals
per venue (bybit-linear / bybit-inverse) and side, through malformed frames, re-sent
duplicates and dropped connections.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.collectors.servers import status_is
from tests.sim.conftest import until
from tests.sim.test_through_collectors import assert_stream_matches, collectors_on

ALL = ("collector-binance", "collector-okx", "collector-bybit")


@pytest.mark.slow
@pytest.mark.timeout(60)  # collector processes against the simulator
async def test_a_finite_bybit_run_arrives_exactly_once_with_the_ledger_totals(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0, sim_bybit_batch_ms=100)
    env = {
        **service_env,
        "LIQMON_BYBIT_PAGE_LIMIT": "50",  # several instruments-info pages
        "LIQMON_COLLECTOR_STATUS_SECONDS": "0.2",
    }
    async with collectors_on(sim, env, tmp_path, ("collector-bybit",)) as collectors:
        await sim.control("run", n=400, rate=400)
        await sim.wait_done(timeout=40)
        totals = sim.ledger.totals
        assert totals.count == 400
        assert {k.split("/")[0] for k in totals.by_venue_side} == {"bybit-linear", "bybit-inverse"}
        status = await status_is(redis, keys.collector_status("bybit"), connected="1", events="400")
        assert status["reconnects"] == "0"
        labels = {c["product"] for c in orjson.loads(status["connections"])}
        assert labels == {"bybit-linear", "bybit-inverse"}
        await assert_stream_matches(redis, keys, totals, collectors.stop)
        assert await redis.xlen(keys.events) == 400
        assert await redis.xlen(keys.deadletter) == 0
    for _, fields in await redis.xrange(keys.events, count=50):
        assert fields["exchange"] == "bybit" and fields["sampled"] in ("0", "false")


@pytest.mark.slow
@pytest.mark.timeout(60)  # collector processes against the simulator
async def test_three_collectors_through_faults_keep_the_totals_exact(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_binance_sampling_ms=0, sim_bybit_batch_ms=100)
    async with collectors_on(sim, service_env, tmp_path, ALL) as collectors:
        run = await sim.control(
            "burst", n=600, rate=600, malformed_fraction=0.1, duplicate_fraction=0.05
        )
        # drop Bybit's sockets only once they carried some of the burst (else the ledger
        # may list no bybit-linear at all)
        await until(
            lambda: any(k.startswith("bybit-linear/") for k in sim.ledger.totals.by_venue_side)
        )
        await sim.control("disconnect", venue="bybit-linear", n=2, interval=0.4, mode="drop")
        await sim.wait_done(timeout=40, run=run["run"])
        ledger = sim.ledger.totals
        venues = {k.split("/")[0] for k in ledger.by_venue_side}
        assert {"bybit-linear", "okx", "binance-usdm"} <= venues
        assert ledger.malformed > 10 and ledger.duplicates > 5
        assert sim.server("bybit").stats["drops_drop"] >= 2
        await assert_stream_matches(redis, keys, ledger, collectors.stop)
