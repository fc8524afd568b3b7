"""`demo`: what a volatile hour looks like on both exchanges.

A trickle of a few liquidations a second, and every few minutes a burst (a wick) of
30-90 s that reaches tens to a couple of hundred per second, mostly longs as price dumps,
with BTC/ETH/SOL dominant and a few multi-million prints. The burst schedule is fixed (its
own seeded RNG), so the hour repeats identically; the liquidations themselves come from the
simulator's seed.
"""

from __future__ import annotations

import math
import random

from liqmon_sim.market import SizeModel
from liqmon_sim.scenarios.base import Scenario, register

HOUR = 3600.0


def _bursts(seed: int = 20261128) -> list[tuple[float, float, float]]:
    rng = random.Random(seed)
    out, t = [], 20.0
    while t < HOUR:
        duration = rng.uniform(30.0, 90.0)
        out.append((t, duration, rng.uniform(30.0, 200.0)))
        t += duration + rng.uniform(90.0, 300.0)
    return out


def demo_rate(bursts: list[tuple[float, float, float]]) -> object:
    def rate(t: float) -> float:
        t %= HOUR
        base = 2.5 + 1.5 * math.sin(t / 97.0)
        for start, duration, peak in bursts:
            if start <= t < start + duration:
                x = (t - start) / duration  # fast spike, slower decay
                return base + peak * (x / 0.15 if x < 0.15 else math.exp(-4.0 * (x - 0.15)))
        return base

    return rate


@register("demo")
def demo() -> Scenario:
    rate = demo_rate(_bursts())
    assert callable(rate)
    return Scenario(
        "demo",
        "a volatile hour: trickle with bursts, BTC/ETH/SOL dominant, a few whale prints",
        rate,
        sizes=SizeModel(median_usd=1_800.0, sigma=1.6, whale_prob=0.003, long_share=0.68),
        drift=-0.00002,
        cluster_prob=0.2,
    )
