"""What a scenario is: a rate over time, a venue mix, a size model and fault knobs.

Scenarios are registered by name (`register`) and built on demand (`get_scenario`), so
`LIQMON_SIM_SCENARIO=cascade` or `ExchangeSimulator(SimSettings(sim_scenario="cascade"))` pick one.
Rates are arrivals per second across all venues BEFORE the sampled venues' rule (each
arrival is `Scenario.per_arrival` liquidations on average: clusters); the simulator
multiplies them by `rate_multiplier`. `math.inf` means "as fast as the clients
take them" (the driver then paces on the sockets' write buffers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from liqmon_sim.catalog import Venue
from liqmon_sim.faults import Faults
from liqmon_sim.market import SizeModel

RateFn = Callable[[float], float]
#: A clustered liquidation drags 1 to this many more on the same contract.
CLUSTER_MAX = 3


def constant(rate: float) -> RateFn:
    return lambda _t: rate


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    rate: RateFn
    #: Share of the liquidations each simulator venue gets; None: the plug-ins' own
    #: `SimPlugin.weights` (modelled on the venues' shares of market liquidation volume).
    venue_weights: dict[Venue, float] | None = None
    sizes: SizeModel = field(default_factory=SizeModel)
    faults: Faults = field(default_factory=Faults)
    spread: float = 1.0  # instrument weight exponent: < 1 spreads over more symbols
    focus: dict[str, float] = field(default_factory=dict)  # coin -> activity multiplier
    drift: float = 0.0  # price log-drift per liquidation of a coin
    binance_sampling_ms: int = 1000  # "latest one per symbol per 1000 ms"; 0 = push all
    cluster_prob: float = 0.15  # chance a liquidation drags 1-CLUSTER_MAX more on its contract

    @property
    def per_arrival(self) -> float:
        """Liquidations per arrival of `rate`, on average (an endless run: the cluster's
        1..CLUSTER_MAX extra ones, mean (1 + CLUSTER_MAX) / 2, with `cluster_prob`)."""
        return 1.0 + self.cluster_prob * (1 + CLUSTER_MAX) / 2


_REGISTRY: dict[str, Callable[[], Scenario]] = {}


def register(name: str) -> Callable[[Callable[[], Scenario]], Callable[[], Scenario]]:
    def wrap(factory: Callable[[], Scenario]) -> Callable[[], Scenario]:
        _REGISTRY[name] = factory
        return factory

    return wrap


def get_scenario(name: str) -> Scenario:
    if name not in _REGISTRY:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(scenario_names())}")
    return _REGISTRY[name]()


def scenario_names() -> list[str]:
    return sorted(_REGISTRY)
