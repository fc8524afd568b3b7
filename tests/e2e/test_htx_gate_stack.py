"""HTX and Gate through the whole stack, every service a real process: simulator ->
collector-htx + collector-gate -> Redis -> aggregator -> web. The 1d window equals the
simulator's ledger to the cent, each liquidation counted once, and /api/health shows both
collectors with their completeness and what Gate's sides rest on."""

from __future__ import annotations

import httpx
import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.e2e.conftest import StackFactory, poll
from tests.e2e.exact import assert_views_equal, assert_window_equals, ledger_tally, stream_view

pytestmark = pytest.mark.slow

COLLECTORS = ("collector-htx", "collector-gate")
VENUES = ("htx-linear", "htx-inverse", "gate-usdt")


@pytest.mark.timeout(120)
async def test_htx_and_gate_through_the_stack_equal_the_ledger(
    make_stack: StackFactory, redis_url: str, redis: Redis, keys: Keys
) -> None:
    stack = await make_stack(redis_url)
    stack.env.update(
        LIQMON_GATE_SIDE_CHECK_SECONDS="1",
        LIQMON_GATE_SIDE_CHECK_DELAY_SECONDS="1",
        LIQMON_HTX_QUIET_SECONDS="3",
    )
    await stack.start_sim(LIQMON_SIM_HTX_PING_INTERVAL_S="1", LIQMON_SIM_SCENARIO="cascade")
    await stack.control("pause")  # nothing flows until both collectors listen
    for name in ("aggregator", "web", *COLLECTORS):
        stack.start(name)
    await stack.wait_subscribed(VENUES)
    n = 3000
    run = (await stack.control("run", n=n, rate=1500))["run"]
    await stack.control("resume")
    await stack.wait_run(run, timeout=60)

    want = ledger_tally(await stack.ledger_entries())
    assert want.count == n
    assert {key.split("/")[0] for key in want.by_exchange} == {"htx", "gate"}

    async def all_in_stream() -> bool:
        return len((await stream_view(redis, keys)).ids) >= n

    await poll(all_in_stream, 30, "every liquidation in the stream", every=0.5)
    got = await stream_view(redis, keys)
    assert got.tally.keys == want.keys
    await stack.wait_drained(redis, n, timeout=60)
    await assert_views_equal(redis, keys, want)
    async with httpx.AsyncClient(base_url=stack.web_urls["web"], timeout=10) as client:
        summary = (await client.get("/api/summary", params={"top": 100})).json()
        assert_window_equals(summary["windows"]["1d"], want, 100)

        async def side_confirmed() -> bool:
            body = (await client.get("/api/health")).json()
            notes = body["collectors"]["gate"]["notes"] or {}
            return int(notes.get("side_matched", "0")) > 0

        await poll(side_confirmed, 20, "gate's side reading confirmed by the REST history")
        body = (await client.get("/api/health")).json()
    htx, gate = body["collectors"]["htx"], body["collectors"]["gate"]
    assert htx["connected"] and gate["connected"]
    assert (htx["sampled"], gate["sampled"]) == (False, True)
    # HTX's notes say what its subscriptions cover (the USDT-M futures ride on an
    # acknowledged business_type=all) and what is inferred
    assert htx["notes"]["coverage_htx-linear"].startswith("USDT-M swaps and futures")
    assert htx["notes"]["sampled"].startswith("no: every liquidation pushed (inferred")
    assert gate["notes"]["side_convention"] == "order"
    assert gate["notes"]["side_votes_position"] == "0"
    for label in COLLECTORS:
        assert stack.procs[label].alive(), stack.procs[label].log()[-3000:]
