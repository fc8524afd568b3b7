"""The HTX collector against the simulator's HTX server: gzip frames both ways, the 5 s
ping answered (the server closes on 5 missed pongs), futures through `business_type=all`,
a new contract held until its size is listed, and every liquidation once, as the ledger."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from liqmon.clock import now_ms
from liqmon.keys import Keys
from liqmon_htx.parser import gunzip_text
from liqmon_sim.catalog import EXPIRY_CODE
from tests.collectors.conftest import stream_events
from tests.collectors.servers import status_is
from tests.sim.conftest import until
from tests.sim.htxgate import collecting, htx_service
from tests.sim.test_through_collectors import assert_stream_matches

VENUES = ("htx-linear", "htx-inverse")


async def test_a_run_arrives_once_each_equal_to_the_ledger(
    make_sim: Any, redis: Redis, redis_url: str, keys: Keys
) -> None:
    sim = await make_sim(sim_htx_ping_interval_s=0.1)
    service = htx_service(sim, redis_url)
    async with collecting(sim, service, VENUES) as stop:
        run = await sim.control("burst", n=300, rate=600, duplicate_fraction=0.05)
        futures = await sim.control(
            "burst", n=20, rate=200, venue="htx-linear", instrument=f"BTC-USDT-{EXPIRY_CODE}"
        )
        # at once: one push whose data[] holds all 30 (the simulator's pushes carry every
        # liquidation of a contract submitted in one turn of its loop)
        together = await sim.control("burst", n=30, venue="htx-inverse", instrument="BTC-USD")
        await sim.wait_done(timeout=30, run=run["run"])
        await sim.wait_done(timeout=30, run=futures["run"])
        await sim.wait_done(timeout=30, run=together["run"])
        ledger = sim.ledger.totals
        assert ledger.count == 350 and ledger.duplicates > 3
        assert {k.split("/")[0] for k in ledger.by_venue_side} == set(VENUES)
        server = sim.by_name["htx"]
        # Pings every 0.1 s on each connection, a client dropped after 5 unanswered ones:
        # 30 pings later nobody was dropped, so every one was answered in time.
        await until(lambda: server.stats["pings_sent"] >= 30)
        assert server.stats["ping_timeouts"] == 0
        status = await status_is(redis, keys.collector_status("htx"), connected="1")
        assert status["reconnects"] == "0" and status["deadletters"] == "0"
        notes = orjson.loads(status["notes"])
        assert notes["coverage_htx-linear"].startswith("USDT-M swaps and futures")
        assert notes["coverage_htx-inverse"].startswith("coin-M swaps")
        await assert_stream_matches(redis, keys, ledger, stop)
    events = await stream_events(redis, keys)
    dated = [e for e in events if e.instrument == f"BTC-USDT-{EXPIRY_CODE}"]
    assert len({e.id for e in dated}) >= 20 and {e.product for e in dated} == {"htx-linear"}
    assert not any(e.sampled for e in events)
    assert {e.price_kind for e in events} == {"bankruptcy"}


async def test_a_client_that_does_not_answer_pings_is_closed_by_the_server(
    make_sim: Any,
) -> None:
    """The lever the test above relies on: the server really drops a silent client."""
    sim = await make_sim(sim_htx_ping_interval_s=0.05)
    frames: list[str | bytes] = []
    async with connect(sim.urls["LIQMON_HTX_WS_URL"] + "/swap-notification") as ws:
        with contextlib.suppress(ConnectionClosed):
            async for frame in ws:
                frames.append(frame)
        assert ws.close_reason == "Bye"
    assert all(isinstance(f, bytes) for f in frames)  # gzip, every one
    messages = [orjson.loads(gunzip_text(f)) for f in frames if isinstance(f, bytes)]
    assert [m["op"] for m in messages] == ["ping"] * 5 + ["close"]
    assert all(isinstance(m["ts"], str) for m in messages[:5])  # as recorded in 2026
    assert sim.by_name["htx"].stats["ping_timeouts"] == 1


async def test_a_new_contract_is_held_until_its_size_is_listed(
    make_sim: Any, redis: Redis, redis_url: str, keys: Keys
) -> None:
    sim = await make_sim(sim_htx_ping_interval_s=0.2)
    btc = sim.catalog.get("htx-linear", "BTC-USDT")
    new = f"BTC-USDT-{int(EXPIRY_CODE) + 10000}"  # next year's quarterly
    listing = type(btc)(**{**_fields(btc), "inst_id": new, "delivery": True,
                           "rest_visible_ms": now_ms() + 1500})  # fmt: skip
    sim.catalog.by_venue["htx-linear"][new] = listing
    service = htx_service(sim, redis_url, collector_spec_min_gap_seconds=0.3)
    async with collecting(sim, service, VENUES):
        run = await sim.control("burst", n=5, rate=100, venue="htx-linear", instrument=new)
        await sim.wait_done(timeout=10, run=run["run"])
        status = await status_is(redis, keys.collector_status("htx"), held="5")
        assert status["events"] == "0"
        await status_is(redis, keys.collector_status("htx"), held="0", events="5")
    events = await stream_events(redis, keys)
    assert {e.instrument for e in events} == {new}
    assert sum(e.usd_cents for e in events) == sim.ledger.totals.cents
    assert all(e.qty == Decimal(str(e.qty)) for e in events)


@pytest.mark.slow
async def test_malformed_frames_are_dead_lettered_and_the_totals_stay_exact(
    make_sim: Any, redis: Redis, redis_url: str, keys: Keys
) -> None:
    sim = await make_sim(sim_htx_ping_interval_s=0.2)
    kinds = ("invalid_json", "missing_field", "wrong_type", "negative", "zero", "nan", "huge")
    await sim.control("faults", malformed_kinds=",".join(kinds))
    service = htx_service(sim, redis_url)
    async with collecting(sim, service, VENUES) as stop:
        run = await sim.control("burst", n=200, rate=500, malformed_fraction=0.15)
        await sim.wait_done(timeout=30, run=run["run"])
        ledger = sim.ledger.totals
        assert ledger.malformed > 10
        await status_is(redis, keys.collector_status("htx"), deadletters=str(ledger.malformed))
        await assert_stream_matches(redis, keys, ledger, stop)


def _fields(inst: Any) -> dict[str, Any]:
    return {name: getattr(inst, name) for name in inst.__slots__}


async def test_a_refused_business_type_falls_back_to_the_plain_wildcard(
    make_sim: Any, redis: Redis, redis_url: str, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await make_sim(sim_htx_ping_interval_s=0.2)
    server = sim.by_name["htx"]
    server.options.business_type_ok = False
    async with collecting(sim, htx_service(sim, redis_url), VENUES):
        (linear,) = [c for c in server.conns if c.venue == "htx-linear"]
        assert linear.wildcard and not linear.futures_too  # swaps only, but subscribed
        run = await sim.control("burst", n=10, rate=100, venue="htx-linear", instrument="ETH-USDT")
        await sim.wait_done(timeout=10, run=run["run"])
        status = await status_is(redis, keys.collector_status("htx"), events="10", reconnects="0")
    assert any("business_type=all" in r.getMessage() for r in caplog.records)
    # /api/health shows the status notes: the missing futures are said, not just logged
    notes = orjson.loads(status["notes"])
    assert notes["coverage_htx-linear"].startswith("USDT-M swaps only: HTX refused")
    assert "NOT collected" in notes["coverage_htx-linear"]


async def test_a_stalled_connection_is_found_by_ping_and_replaced(
    make_sim: Any, redis: Redis, redis_url: str, keys: Keys
) -> None:
    """Socket open, nothing flows (no pings from HTX, no answers to ours): the quiet period
    gets a protocol ping, its missing answer drops the connection, a fresh one subscribes."""
    sim = await make_sim(sim_htx_ping_interval_s=0.2)
    async with collecting(sim, htx_service(sim, redis_url), VENUES) as stop:
        await sim.control("stall", venue="htx-linear")
        await status_is(redis, keys.collector_status("htx"), timeout=15, reconnects="2")
        await until(lambda: all(sim.venues[v].has_audience_for(v) for v in VENUES))
        run = await sim.control("burst", n=20, rate=200)
        await sim.wait_done(timeout=10, run=run["run"])
        await assert_stream_matches(redis, keys, sim.ledger.totals, stop)
    assert await redis.zcard(keys.collector_gaps("htx")) >= 1
