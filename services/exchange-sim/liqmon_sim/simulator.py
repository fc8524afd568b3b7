"""`ExchangeSimulator`: every venue's loopback servers, the scenario driver and the ledger.

    async with ExchangeSimulator(SimConfig(scenario="trickle", total=100)) as sim:
        env.update(sim.urls)              # every collector's LIQMON_<VENUE>_*_URL
        await sim.wait_done()             # exactly 100 unique liquidations on the wire
        sim.ledger.totals.as_dict()       # what the pipeline must end up with
        await sim.control("disconnect", venue="okx")

The venues are the plug-ins of `liqmon_sim.venues.plugin` (one per row of `liqmon.venues`).
Ports 0 (the default here) pick free ports. Everything is on one event loop; frames are
written without awaiting (see venues.base), so thousands per second are cheap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from websockets.asyncio.server import serve

from liqmon.runtime import TaskSet
from liqmon_sim import control as control_mod
from liqmon_sim.catalog import Catalog, Venue
from liqmon_sim.driver import Driver
from liqmon_sim.faults import Faults
from liqmon_sim.http import make_process_request
from liqmon_sim.ledger import Ledger
from liqmon_sim.malformed import kinds_for
from liqmon_sim.market import Market
from liqmon_sim.scenarios import Scenario, get_scenario
from liqmon_sim.settings import SimSettings
from liqmon_sim.venues import plugin as plugins_mod
from liqmon_sim.venues.base import VenueServer, now_ms
from liqmon_sim.venues.binance import BinanceServer

logger = logging.getLogger(__name__)


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    #: server name (`SimPlugin.ports`) -> port; a server not named listens on a free port
    ports: dict[str, int] = field(default_factory=dict)
    scenario: str | Scenario = "demo"
    seed: int = 1
    rate_multiplier: float = 1.0
    total: int | None = None  # finite run: exactly this many unique liquidations, then quiet
    rate: float | None = None  # override the scenario's rate (liquidations/s; math.inf = max)
    faults: dict[str, Any] = field(default_factory=dict)  # overrides of the scenario's Faults
    binance_sampling_ms: int | None = None  # None = the scenario's (1000 unless `max`)
    binance_ping_interval: float = 180.0
    binance_pong_timeout: float = 600.0
    binance_max_connection_s: float = 86_400.0
    binance_max_msgs_per_s: int = 10
    binance_legacy_root: bool = True
    okx_idle_timeout: float = 30.0
    okx_idle_rule: str = "any"
    okx_batch_ms: int = 50
    okx_notice_delay: float = 30.0
    bybit_batch_ms: int = 500
    bybit_idle_timeout: float = 600.0
    htx_ping_interval: float = 5.0
    gate_sampling_ms: int = 1000
    gate_side_convention: str = "order"  # "position": the other reading of Gate's size sign
    ledger_path: Path | None = None
    ledger_max_entries: int = 200_000  # entries kept in memory; totals are always exact
    control_enabled: bool = True

    @classmethod
    def from_settings(cls, s: SimSettings) -> SimConfig:
        return cls(
            host=s.sim_host,
            ports={**plugins_mod.default_ports(), **s.sim_ports},
            scenario=s.sim_scenario,
            seed=s.sim_seed,
            rate_multiplier=s.sim_rate_multiplier,
            total=s.sim_total,
            rate=s.sim_rate,
            faults=dict(s.sim_faults),
            binance_sampling_ms=s.sim_binance_sampling_ms,
            binance_ping_interval=s.sim_binance_ping_interval_s,
            binance_pong_timeout=s.sim_binance_pong_timeout_s,
            binance_max_connection_s=s.sim_binance_max_connection_s,
            binance_max_msgs_per_s=s.sim_binance_max_msgs_per_s,
            binance_legacy_root=s.sim_binance_legacy_root,
            okx_idle_timeout=s.sim_okx_idle_timeout_s,
            okx_idle_rule=s.sim_okx_idle_rule,
            okx_batch_ms=s.sim_okx_batch_ms,
            okx_notice_delay=s.sim_okx_notice_delay_s,
            bybit_batch_ms=s.sim_bybit_batch_ms,
            bybit_idle_timeout=s.sim_bybit_idle_timeout_s,
            htx_ping_interval=s.sim_htx_ping_interval_s,
            gate_sampling_ms=s.sim_gate_sampling_ms,
            gate_side_convention=s.sim_gate_side_convention,
            ledger_path=Path(s.sim_ledger_path) if s.sim_ledger_path else None,
            ledger_max_entries=s.sim_ledger_max_entries,
            control_enabled=s.sim_control_enabled,
        )


class ExchangeSimulator:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config = config or SimConfig()
        self.scenario = (
            config.scenario
            if isinstance(config.scenario, Scenario)
            else get_scenario(config.scenario)
        )
        faults = (
            self.scenario.faults.updated(config.faults) if config.faults else self.scenario.faults
        )
        self.catalog = Catalog()
        self.market = Market(
            self.catalog, self.scenario.sizes, self.scenario.spread, self.scenario.focus
        )
        self.market.drift = self.scenario.drift
        self.ledger = Ledger(config.ledger_max_entries, config.ledger_path)
        context = plugins_mod.SimContext(
            self.ledger, self.catalog, config, faults, config.seed, self.scenario
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
            config.seed,
            config.rate_multiplier,
            faults,
        )
        self.tasks = TaskSet()
        self._started = False

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> ExchangeSimulator:
        cfg = self.config
        try:
            for server in self.servers:
                # no permessage-deflate (neither venue's stream is compressed, and it would
                # cost more CPU than everything else); keepalive is the venues' own
                server.server = await serve(
                    server.handler,
                    cfg.host,
                    cfg.ports.get(server.name, 0),
                    process_request=make_process_request(self, server),
                    compression=None,
                    ping_interval=None,
                    ping_timeout=None,
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
        self.driver.start_main(cfg.total, cfg.rate)
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
        return plugins_mod.collector_env(self.config.host, self.ports)

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
        return done.describe(self.ledger, self.driver.in_flight(done))

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
        return {
            "scenario": self.scenario.name,
            "done": self.done,
            "paused": driver.paused.is_set(),
            "rate_multiplier": driver.rate_multiplier,
            "main_run": driver.main.id if driver.main else None,
            "runs": {
                str(r.id): r.describe(self.ledger, driver.in_flight(r))
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
