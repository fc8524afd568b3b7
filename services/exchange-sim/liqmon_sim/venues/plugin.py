"""How a simulated venue plugs into the simulator: one `SimPlugin` per exchange.

Each exchange's module (`liqmon_sim.venues.<exchange>`, named by its row in `liqmon.venues`)
defines `PLUGIN`. The simulator, the catalog, the market, the malformed-frame picker, the
control API, `liqmon up --demo` and the tests find every venue through `plugins()`; nothing
else in the simulator lists venues.

Names: a plug-in serves one or more *simulator venues* (`venues`: the ledger's `venue` and
the catalog's key, e.g. `okx`, or `bybit-linear` + `bybit-inverse`) from one or more
*servers* (one listening port each; `ports` maps each server's name to its default port, the
one compose's demo override points the collectors at).
"""

from __future__ import annotations

import importlib
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

from liqmon.venues import VENUES

if TYPE_CHECKING:
    from liqmon_sim.catalog import Coin, Instrument
    from liqmon_sim.settings import SimSettings
    from liqmon_sim.venues.base import VenueServer


@dataclass(frozen=True)
class SimContext:
    """What a plug-in builds its servers from (`settings`: the simulator's knobs)."""

    ledger: Any
    catalog: Any
    settings: SimSettings
    faults: Any
    seed: int
    scenario: Any

    def rng(self, server: str) -> random.Random:
        """The random stream of one venue server (ids, lifecycles), its own for each name:
        offsets from `seed` picked by hand collided (BitMEX and dYdX, Deribit and Kraken
        drew the same sequence; OKX drew the driver's own). A str seed is hashed, so the
        stream is the same on every run for a seed."""
        return random.Random(f"{self.seed}/{server}")


@dataclass(frozen=True)
class SimPlugin:
    """One simulated exchange.

    - `instruments(coin)`: the contracts this exchange lists for one coin of the catalog's
      table (its flags say which venues list a coin; a plug-in may use its own rule).
    - `notional(inst, qty, price)`: the exact USD value of a liquidation of `qty` (in the
      venue's own units) at the venue's `price`, computed from the SIMULATOR's specs, never
      the collector's, so comparing ledger and pipeline compares two computations. Linear in
      `qty` (the market sizes orders with `notional(inst, 1, price)`).
    - `servers(ctx)`: the servers to start (each a `VenueServer` with a `name` in `ports`).
    - `collector_env(host, ports)`: the collector's URL variables for servers on `ports`.
    - `price_spread`: prices are drawn around the mid (a bankruptcy or order price); False:
      at the mid (Binance's average fill price).
    - `weights`: each simulator venue's relative share of the liquidations (default 0.1).
    - `spec_free`: the simulator venues whose USD value follows from the frame alone (so a
      frame naming an unknown instrument is still a liquidation there, not a broken frame).
    """

    exchange: str
    venues: tuple[str, ...]
    ports: Mapping[str, int]
    instruments: Callable[[Coin], list[Instrument]]
    notional: Callable[[Instrument, Decimal, Decimal], Decimal]
    servers: Callable[[SimContext], list[VenueServer]]
    collector_env: Callable[[str, Mapping[str, int]], dict[str, str]]
    price_spread: bool = True
    spec_free: frozenset[str] = frozenset()
    #: simulator venue -> its share of generated liquidations when a scenario names none
    #: (relative; modelled on the venue's share of market liquidation volume)
    weights: Mapping[str, float] = field(default_factory=dict)


@cache
def plugins() -> tuple[SimPlugin, ...]:
    """Every simulated exchange, in registry order."""
    out = []
    for row in VENUES:
        if row.sim is None:
            continue
        plugin = importlib.import_module(row.sim).PLUGIN
        if not isinstance(plugin, SimPlugin) or plugin.exchange != row.exchange:
            raise TypeError(f"{row.sim}.PLUGIN is not the SimPlugin of {row.exchange}")
        out.append(plugin)
    return tuple(out)


@cache
def by_venue() -> dict[str, SimPlugin]:
    """Simulator venue name -> its plug-in."""
    return {venue: p for p in plugins() for venue in p.venues}


def sim_venues() -> tuple[str, ...]:
    """Every simulator venue name, in registry order."""
    return tuple(by_venue())


def default_weights() -> dict[str, float]:
    """Simulator venue -> relative share of generated liquidations (the plug-ins' own)."""
    return {v: p.weights.get(v, 0.1) for p in plugins() for v in p.venues}


def default_ports() -> dict[str, int]:
    """Server name -> default port, for every server of every plug-in (each one distinct:
    compose's demo override reaches every server on its default port)."""
    ports = {name: port for p in plugins() for name, port in p.ports.items()}
    taken: dict[int, str] = {}
    for name, port in ports.items():
        if port in taken:
            raise ValueError(f"simulator servers {taken[port]} and {name} share port {port}")
        taken[port] = name
    return ports


def collector_env(host: str, ports: Mapping[str, int]) -> dict[str, str]:
    """Every collector's URL variables for simulator servers listening on `ports`."""
    env: dict[str, str] = {}
    for p in plugins():
        env.update(p.collector_env(host, ports))
    return env


def collector_urls(
    ws_paths: Mapping[str, str], *, rest: bool = True
) -> Callable[[str, Mapping[str, int]], dict[str, str]]:
    """A plug-in's `collector_env` for the usual layout: for each server (name -> the path
    of its WebSocket endpoint), `LIQMON_<SERVER>_WS_URL` and, with `rest`,
    `LIQMON_<SERVER>_REST_URL` on that server's port (`binance-usdm`: LIQMON_BINANCE_USDM_*)."""

    def env(host: str, ports: Mapping[str, int]) -> dict[str, str]:
        out: dict[str, str] = {}
        for server, ws_path in ws_paths.items():
            prefix = f"LIQMON_{server.upper().replace('-', '_')}"
            out[f"{prefix}_WS_URL"] = f"ws://{host}:{ports[server]}{ws_path}"
            if rest:
                out[f"{prefix}_REST_URL"] = f"http://{host}:{ports[server]}"
        return out

    return env


def demo_environment(host: str, ports: Mapping[str, int]) -> dict[str, str]:
    """The simulator's own settings for these ports plus the collectors' URLs to reach it."""
    return {
        "LIQMON_SIM_HOST": host,
        "LIQMON_SIM_PORTS": json.dumps(dict(ports)),
        **collector_env(host, ports),
    }


def free_ports() -> dict[str, int]:
    """A free loopback port for every server (demo runs and tests)."""
    from liqmon.embedded_redis import free_port

    return {name: free_port() for name in default_ports()}
