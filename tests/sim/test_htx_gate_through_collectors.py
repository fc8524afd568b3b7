"""A simulated cascade -> `liqmon run collector-htx` and `collector-gate` (child processes) ->
the test Redis: every liquidation the ledger lists arrives once, with the ledger's totals per
venue and side, through malformed frames, re-sent duplicates and dropped connections
(recorded as gaps)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.collectors.servers import poll_until, status_is
from tests.sim.test_through_collectors import assert_stream_matches, collectors_on

NAMES = ("collector-htx", "collector-gate")


@pytest.mark.slow
async def test_a_cascade_through_htx_and_gate_equals_the_ledger(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(
        sim_scenario="cascade", sim_rate=0, sim_htx_ping_interval_s=0.5, sim_gate_sampling_ms=250
    )
    env = {
        **service_env,
        "LIQMON_COLLECTOR_STATUS_SECONDS": "0.2",
        "LIQMON_COLLECTOR_BACKOFF_INITIAL_SECONDS": "0.1",
        "LIQMON_GATE_SIDE_CHECK_SECONDS": "0.5",
        "LIQMON_GATE_SIDE_CHECK_DELAY_SECONDS": "0.5",
    }
    async with collectors_on(sim, env, tmp_path, NAMES) as collectors:
        await sim.control("faults", malformed_fraction=0.03, duplicate_fraction=0.02)
        await sim.control("run", n=1500, rate=1000)
        for venue in ("htx-linear", "gate-usdt"):  # mid-run: both reconnect, nothing lost
            await sim.control("disconnect", venue=venue, mode="drop", n=2, interval=0.6)
        await sim.wait_done(timeout=60)
        ledger = sim.ledger.totals
        venues = {k.split("/")[0] for k in ledger.by_venue_side}
        assert venues == {"htx-linear", "htx-inverse", "gate-usdt"}
        assert ledger.count == 1500 and ledger.malformed > 10 and ledger.duplicates > 5
        for exchange in ("htx", "gate"):
            status = await status_is(redis, keys.collector_status(exchange), connected="1")
            assert int(status["reconnects"]) >= 1, (exchange, status)
            assert await redis.zcard(keys.collector_gaps(exchange)) >= 1, exchange
        gate = keys.collector_status("gate")

        async def confirmed() -> bool:
            notes = orjson.loads(await redis.hget(gate, "notes") or "{}")
            return int(notes.get("side_matched", "0")) > 0

        await poll_until(confirmed, timeout=15)
        notes = orjson.loads(await redis.hget(gate, "notes") or "{}")
        assert notes["side_convention"] == "order" and notes["side_votes_position"] == "0"
        await assert_stream_matches(redis, keys, ledger, collectors.stop)
