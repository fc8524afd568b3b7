"""Flat-rate scenarios: `trickle` (a calm market), `quiet` (nothing, for keepalive tests
and control-driven runs) and `max` (as fast as the clients read, sampling off: benchmarks)."""

from __future__ import annotations

import math

from liqmon_sim.scenarios.base import Scenario, constant, register


@register("trickle")
def trickle() -> Scenario:
    return Scenario("trickle", "about one liquidation a second, calm sizes", constant(1.0))


@register("quiet")
def quiet() -> Scenario:
    return Scenario("quiet", "no liquidations unless asked (burst/run control)", constant(0.0))


@register("max")
def max_rate() -> Scenario:
    return Scenario(
        "max",
        "as fast as the clients read; Binance sampling off so every event is pushed",
        constant(math.inf),
        binance_sampling_ms=0,
        cluster_prob=0.0,
    )
