"""Simulator -> `liqmon run collector-binance` / `collector-okx` -> test Redis.

A finite run of N liquidations must land in `liq:v1:events` with exactly the ledger's
unique liquidations (each id once; a re-sent duplicate may appear again with the SAME id)
and the ledger's totals (count and exact cents per venue and side). The collectors are real
child processes; the simulator runs in this test's event loop; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon_sim.ledger import Totals
from liqmon_sim.venues.plugin import plugins
from tests.procs import ServiceProcess
from tests.sim.conftest import until, until_async

#: Event product -> simulator venue, where they differ (elsewhere they are the same name).
VENUE_OF_PRODUCT = {"okx-swap": "okx", "okx-futures": "okx"}
#: The simulator venues each collector subscribes to.
COLLECTS = {f"collector-{p.exchange}": p.venues for p in plugins()}


class Collectors:
    """Collector processes running against a simulator."""

    def __init__(self, procs: list[ServiceProcess]) -> None:
        self.procs = procs

    async def stop(self) -> None:
        """SIGTERM each and wait: a collector flushes everything it read before it exits,
        so once this returns nothing more can reach the stream. (In a thread: the
        simulator on this loop answers their closing handshakes meanwhile.)"""
        codes = await asyncio.gather(*(asyncio.to_thread(p.stop) for p in self.procs))
        for proc, code in zip(self.procs, codes, strict=True):
            assert code == 0, proc.log()


@contextlib.asynccontextmanager
async def collectors_on(
    sim: Any,
    env: dict[str, str],
    log_dir: Path,
    names: tuple[str, ...] = ("collector-binance", "collector-okx"),
) -> AsyncIterator[Collectors]:
    """The collectors running against `sim`, every listed instrument of each of their
    venues subscribed (a burst started earlier would miss a half-subscribed venue)."""
    env = dict(env, **sim.urls)
    procs = [ServiceProcess(n, env, log_dir).start() for n in names]
    venues = [v for n in names for v in COLLECTS[n]]
    collectors = Collectors(procs)
    try:

        def ready() -> bool:
            assert all(p.alive() for p in procs), [p.log() for p in procs]
            return all(sim.venues[v].ready_for(v) for v in venues)

        await until(ready, timeout=30)
        yield collectors
    finally:
        await collectors.stop()


async def assert_stream_matches(
    redis: Redis,
    keys: Keys,
    ledger: Totals,
    stop_collectors: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Every liquidation of the ledger reached the stream, and the stream holds exactly the
    ledger's. With `stop_collectors` (returns once they have flushed and exited) the count
    is taken after they stopped, when nothing more can arrive; without it, an extra event
    that arrives after the count would go unnoticed (a test that still needs its
    collectors running afterwards)."""

    async def all_arrived() -> bool:
        ids = {fields["id"] for _, fields in await redis.xrange(keys.events)}
        return len(ids) >= ledger.count

    await until_async(all_arrived, timeout=30)
    if stop_collectors is not None:
        await stop_collectors()
    ids: Counter[str] = Counter()
    cells: dict[str, list[int]] = {}
    for _, fields in await redis.xrange(keys.events):
        ids[fields["id"]] += 1
        if ids[fields["id"]] > 1:
            continue
        cell = cells.setdefault(
            f"{VENUE_OF_PRODUCT.get(fields['product'], fields['product'])}/{fields['side']}", [0, 0]
        )
        cell[0] += 1
        cell[1] += int(Decimal(fields["usd"]) * 100)
    assert len(ids) == ledger.count, "unique liquidations: exactly the ledger's"
    assert sum(ids.values()) - len(ids) <= ledger.duplicates
    assert cells == {k: [v[0], v[1]] for k, v in ledger.by_venue_side.items()}


@pytest.mark.slow
@pytest.mark.timeout(60)  # collector processes against the simulator
async def test_a_finite_run_arrives_exactly_once_with_the_ledger_totals(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0)  # silent until the run below
    async with collectors_on(sim, service_env, tmp_path) as collectors:
        await sim.control("run", n=400, rate=400)
        await sim.wait_done(timeout=40)
        assert sim.ledger.totals.count == 400
        await assert_stream_matches(redis, keys, sim.ledger.totals, collectors.stop)
        assert sum(1 for _ in await redis.xrange(keys.events)) == 400
        assert await redis.xlen(keys.deadletter) == 0


@pytest.mark.slow
@pytest.mark.timeout(60)  # collector processes against the simulator
async def test_malformed_frames_and_duplicates_leave_the_totals_exact(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_binance_sampling_ms=0)
    async with collectors_on(sim, service_env, tmp_path) as collectors:
        run = await sim.control(
            "burst", n=300, rate=1000, malformed_fraction=0.1, duplicate_fraction=0.05
        )
        await sim.wait_done(timeout=40, run=run["run"])
        ledger = sim.ledger.totals
        assert ledger.malformed > 10 and ledger.duplicates > 5
        await assert_stream_matches(redis, keys, ledger, collectors.stop)


@pytest.mark.slow
@pytest.mark.timeout(60)  # collector processes against the simulator
async def test_a_disconnect_storm_loses_nothing_the_ledger_lists(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0)
    async with collectors_on(sim, service_env, tmp_path) as collectors:
        await sim.control("run", n=600, rate=300)
        await sim.control("disconnect", n=3, interval=0.6, mode="drop")
        await sim.wait_done(timeout=40)
        assert sum(v.stats["drops_drop"] for v in sim.venues.values()) >= 3
        await assert_stream_matches(redis, keys, sim.ledger.totals, collectors.stop)
