"""`ExchangeSimulator`: every venue's loopback servers, the scenario driver and the ledger.

    settings = SimSettings(sim_scenario="trickle", sim_total=100)
    async with ExchangeSimulator(settings) as sim:
        env.update(sim.urls)              # every collector's LIQMON_<VENUE>_*_URL
        await sim.wait_done()             # exactly 100 unique liquidations on the wire
        sim.ledger.totals.as_dict()       # what the pipeline must end up with
        await sim.control("disconnect", venue="okx")

The venues are the plug-ins of `liqmon_sim.venues.plugin` (one per row of `liqmon.venues`).
A server `sim_ports` does not name listens on a free port (the service fills in the default
ports first: `SimSettings.with_default_ports`). Everything is on one event loop; frames are
written without awaiting (see venues.base), so thousands per second are cheap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

from websockets.asyncio.server import serve

from liqmon.runtime import TaskSet
from liqmon_sim import control as control_mod
from liqmon_sim.api import OPEN_TIMEOUT_S
from liqmon_sim.catalog import Catalog, Venue
from liqmon_sim.driver import Driver
from liqmon_sim.faults import Faults
from liqmon_sim.http import make_process_request
from liqmon_sim.ledger import Ledger
from liqmon_sim.malformed import kinds_for
from liqmon_sim.market import Market
from liqmon_sim.scenarios import get_scenario
from liqmon_sim.settings import SimSettings
from liqmon_sim.venues import plugin as plugins_mod
from liqmon_sim.venues.base import VenueServer, now_ms
from liqmon_sim.venues.binance import BinanceServer

logger = logging.getLogger(__name__)


class ExchangeSimulator:
    def __init__(self, settings: SimSettings) -> None:
        self.settings = settings
        self.scenario = get_scenario(settings.sim_scenario)
        faults = (
            self.scenario.faults.updated(settings.sim_faults)
            if settings.sim_faults
            else self.scenario.faults
        )
        self.catalog = Catalog()
        self.market = Market(
            self.catalog, self.scenario.sizes, self.scenario.spread, self.scenario.focus
        )
        self.market.drift = self.scenario.drift
        self.ledger = Ledger(settings.sim_ledger_max_entries, settings.sim_ledger_path)
        context = plugins_mod.SimContext(
            self.ledger, self.catalog, settings, faults, settings.sim_seed, self.scenario
        )
        #: Every server, one per port, in registry order; `venues` maps each simulator venue
        #: to the server delivering it (one server may serve several: Bybit).
        self.servers: list[VenueServer] = [
            server for p in plugins_mod.plugins() for server in p.servers(context)
        ]
        self.by_name: dict[str, VenueServer] = {s.name: s for s in self.servers}
        self.venues: dict[Venue, VenueServer] = {
            venue: server for server in self.servers for venue in server.served
        }
        self.driver = Driver(
            self.scenario,
            self.market,
            self.venues,
            self.ledger,
            settings.sim_seed,
            settings.sim_rate_multiplier,
            faults,
        )
        self.tasks = TaskSet()
        self._started = False

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> ExchangeSimulator:
        cfg = self.settings
        try:
            for server in self.servers:
                # no permessage-deflate (neither venue's stream is compressed, and it would
                # cost more CPU than everything else); keepalive is the venues' own
                server.server = await serve(
                    server.handler,
                    cfg.sim_host,
                    cfg.sim_ports.get(server.name, 0),
                    process_request=make_process_request(self, server),
                    compression=None,
                    ping_interval=None,
                    ping_timeout=None,
                    open_timeout=OPEN_TIMEOUT_S,
                    close_timeout=2.0,
                    max_size=1 << 20,
                    server_header="liqmon-sim",
                )
        except OSError:
            await asyncio.gather(*(v.close() for v in self.servers if v.server))
            raise
        for server in self.servers:
            for name, work in server.background():
                self.tasks.spawn(work, f"sim.{name}")
        self.tasks.spawn(self.driver.disconnector(), "sim.disconnector")
        self.tasks.spawn(self._flush_ledger(), "sim.ledger-flush")
        self.driver.start_main(cfg.sim_total, cfg.sim_rate)
        self._started = True
        logger.info(
            "simulator up: scenario %s, %s",
            self.scenario.name,
            " ".join(f"{name} :{port}" for name, port in self.ports.items()),
        )
        return self

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self.driver.close()
        await self.tasks.cancel_all()
        await asyncio.gather(*(v.close() for v in self.servers))
        self.ledger.close()

    async def __aenter__(self) -> ExchangeSimulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self.tasks.spawn(coro, name)

    async def _flush_ledger(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self.ledger.flush()

    # --- the public surface ---------------------------------------------------------

    @property
    def ports(self) -> dict[str, int]:
        """Server name -> the port it listens on."""
        return {s.name: s.port for s in self.servers}

    @property
    def urls(self) -> dict[str, str]:
        """Base URLs in the collectors' env-var format."""
        return plugins_mod.collector_env(self.settings.sim_host, self.ports)

    def server(self, name: str) -> VenueServer:
        """A server by its name (`binance-usdm`, `okx`, `bybit`, ...)."""
        return self.by_name[name]

    @property
    def binance_sampling_ms(self) -> int | None:
        binance = [s for s in self.servers if isinstance(s, BinanceServer)]
        return binance[0].options.sampling_ms if binance else None

    async def control(self, action: str, **params: Any) -> dict[str, Any]:
        return await control_mod.apply(self, action, params)

    async def wait_done(
        self, timeout: float | None = None, run: int | None = None
    ) -> dict[str, Any]:
        """Wait until the (main, or given) finite run has put all its liquidations on the wire."""
        done = await asyncio.wait_for(self.driver.wait_done(run), timeout)
        now = asyncio.get_running_loop().time()
        return done.describe(self.ledger, self.driver.in_flight(done), now)

    @property
    def done(self) -> bool:
        main = self.driver.main
        return main is not None and main.done.is_set()

    def set_faults(self, faults: Faults) -> None:
        self.driver.faults = faults
        for server in self.servers:
            server.set_faults(faults)

    def send_malformed(self, n: int, venues: tuple[Venue, ...], kind: str | None) -> int:
        """Send `n` broken frames now (round-robin over `venues`); returns how many went out."""
        driver = self.driver
        run = driver.main.id if driver.main else 0
        before = self.ledger.totals.malformed
        for i in range(n):
            venue = venues[i % len(venues)]
            inst = self.market.pick(driver.rng, venue)
            liq = self.market.make(driver.rng, inst, now_ms())
            liq.run = run
            chosen = kind or driver.fault_rng.choice(
                kinds_for(venue, driver.faults.malformed_kinds)
            )
            self.venues[venue].send_malformed(liq, chosen, driver.fault_rng)
        return self.ledger.totals.malformed - before

    def stats(self) -> dict[str, Any]:
        driver = self.driver
        now = asyncio.get_running_loop().time()
        return {
            "scenario": self.scenario.name,
            "done": self.done,
            "paused": driver.paused.is_set(),
            "rate_multiplier": driver.rate_multiplier,
            "main_run": driver.main.id if driver.main else None,
            "runs": {
                str(r.id): r.describe(self.ledger, driver.in_flight(r), now)
                for r in driver.runs.values()
            },
            "venues": {name: v.describe() for name, v in self.venues.items()},
            "binance_sampling_ms": self.binance_sampling_ms,
            "faults": driver.faults.as_dict(),
            "ledger": {
                "last_seq": self.ledger.last_seq,
                "suppressed": dict(self.ledger.suppressed),
                "totals": self.ledger.totals.as_dict(),
            },
            "urls": self.urls,
        }
