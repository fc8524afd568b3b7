"""Simulator -> `liqmon run collector-dydx` / `collector-kraken` / `collector-bitfinex` (real
child processes) -> test Redis, with every venue quirk on: dYdX `subscribed` histories and
dust fills, Kraken `trade_snapshot`s, Bitfinex trigger + match records (match first at times)
and other pairs' records, plus broken frames, re-sent duplicates and dropped connections.
Each liquidation of the ledger arrives exactly once, and nothing else does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon_sim.venues.plugin import plugins
from tests.collectors.servers import status_is
from tests.procs import ServiceProcess
from tests.sim.standalone import stream_equals_ledger

COLLECTORS = ("collector-dydx", "collector-kraken", "collector-bitfinex")
VENUES = ("dydx", "kraken-inverse", "kraken-linear", "bitfinex")


def exchange_of(venue: str) -> str:
    return venue.split("-")[0]


def fully_subscribed(sim: Any) -> bool:
    """Every market/product of every venue is subscribed on a live connection: only then may
    the load start (a liquidation nobody subscribed to waits in the venue's history)."""
    return all(sim.venues[v].ready_for(v) for v in VENUES)


async def all_subscribed(sim: Any, procs: list[ServiceProcess]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not fully_subscribed(sim):
        assert loop.time() < deadline and all(p.alive() for p in procs), [p.log() for p in procs]
        await asyncio.sleep(0.05)


@pytest.mark.slow
async def test_three_venues_with_their_quirks_equal_the_ledger(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0)
    env = {**service_env, **sim.urls, "LIQMON_COLLECTOR_STATUS_SECONDS": "0.2"}
    procs = [ServiceProcess(name, env, tmp_path).start() for name in COLLECTORS]
    try:
        await all_subscribed(sim, procs)
        assert len({c for c in sim.venues["dydx"].conns if c.live}) >= 3  # 32 markets each
        first = await sim.control(
            "burst", n=500, rate=500, malformed_fraction=0.05, duplicate_fraction=0.05
        )
        await sim.wait_done(timeout=40, run=first["run"])
        totals = sim.ledger.totals
        assert {k.split("/")[0] for k in totals.by_venue_side} == set(VENUES)
        assert totals.malformed > 5 and totals.duplicates > 5
        await stream_equals_ledger(redis, keys, sim.ledger, exchange_of)
        # every connection dropped: the collectors reconnect, and the histories and snapshots
        # they are sent again hold liquidations they already wrote
        for venue in ("dydx", "kraken-inverse", "bitfinex"):
            await sim.control("disconnect", venue=venue, mode="drop")
        await all_subscribed(sim, procs)
        second = await sim.control("burst", n=200, rate=400)
        await sim.wait_done(timeout=40, run=second["run"])
        ids = await stream_equals_ledger(redis, keys, sim.ledger, exchange_of)
        assert set(ids.values()) == {1}  # replays never reached the stream twice
        assert sim.ledger.totals.count >= 700
        for exchange in ("dydx", "kraken", "bitfinex"):
            status = await status_is(redis, keys.collector_status(exchange), connected="1")
            assert int(status["reconnects"]) >= 1 and int(status["deadletters"]) >= 1
    finally:
        for proc in procs:
            assert proc.stop() == 0, proc.log()
    events = [f for _, f in await redis.xrange(keys.events)]
    assert {f["sampled"] for f in events} == {"0"}
    assert any(f["usd"] == "0.00" for f in events if f["exchange"] == "dydx") or (
        sim.venues["dydx"].options.dust_fraction * len(events) < 3  # too few to expect one
    )


def test_every_simulator_server_has_its_own_default_port() -> None:
    """The demo (compose, `liqmon up` without free ports) binds every server's default port:
    two plug-ins on one port would leave a venue without its simulator."""
    ports = [port for p in plugins() for port in p.ports.values()]
    assert len(ports) == len(set(ports)), sorted(ports)
