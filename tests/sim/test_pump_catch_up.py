"""The driver's pump behind schedule: every turn comes at once until it has caught up.

A crash's bursts put the pump behind its arrivals; it then owes them and must generate them
in turns of at most CHUNK liquidations with no pause between turns. A turn that ends
because its liquidation budget is spent (a cluster is several liquidations, so that
happens before CHUNK arrivals) is still behind: it used to be taken for caught up and
slept TICK_S, which capped a catch-up below the crash scenario's mean rate.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from liqmon_sim import driver as driver_module
from liqmon_sim.catalog import Catalog
from liqmon_sim.driver import TICK_S, Driver
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation, Market
from liqmon_sim.scenarios import get_scenario
from liqmon_sim.venues.base import VenueServer


class CountingServer(VenueServer):
    """A venue with a live audience that takes every liquidation (no sockets)."""

    name = "counting"

    def __init__(self, ledger: Ledger, venue: str) -> None:
        super().__init__(ledger)
        self.venue = venue  # type: ignore[assignment]
        self.submitted = 0

    def has_audience_for(self, venue: str) -> bool:  # type: ignore[override]
        return True

    def pending_count(self, run: int | None = None) -> int:
        return 0

    def submit(self, liq: Liquidation) -> None:
        self.submitted += 1


@pytest.mark.asyncio
async def test_a_pump_behind_schedule_never_pauses_between_turns(monkeypatch):
    scenario = get_scenario("crash")  # clusters: 1.7 liquidations per arrival on average
    catalog = Catalog()
    ledger = Ledger()
    venue = "bybit-linear"
    server = CountingServer(ledger, venue)
    market = Market(catalog, scenario.sizes, scenario.spread, scenario.focus)
    driver = Driver(scenario, market, {venue: server}, ledger, seed=7)

    sleeps: list[float] = []
    turns = asyncio.Event()
    real_sleep = asyncio.sleep

    async def recording_sleep(delay: float) -> None:
        sleeps.append(delay)
        if len(sleeps) >= 40:
            turns.set()
        await real_sleep(0)

    monkeypatch.setattr(driver_module, "asyncio", SimpleNamespace(
        sleep=recording_sleep, get_running_loop=asyncio.get_running_loop,
        ensure_future=asyncio.ensure_future, wait=asyncio.wait, Task=asyncio.Task,
        FIRST_COMPLETED=asyncio.FIRST_COMPLETED,
    ))  # fmt: skip
    # a million arrivals per second: never caught up (a turn of CHUNK takes milliseconds)
    driver.start_main(total=None, rate=1_000_000.0)
    try:
        await asyncio.wait_for(turns.wait(), 30)
    finally:
        await driver.close()
    assert server.submitted > 20 * 100
    # the recorded sleeps do not wait, so the first turns may find no arrival due yet;
    # once one is behind (a 0 s sleep), every later turn is behind too
    assert 0.0 in sleeps, sleeps
    behind = sleeps[sleeps.index(0.0) :]
    assert len(behind) >= 30, sleeps
    assert TICK_S not in behind, behind
