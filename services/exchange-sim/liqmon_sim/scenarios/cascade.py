"""`cascade`: a liquidation cascade — thousands per second across hundreds of symbols,
mostly longs, prices sliding, fatter tails (more multi-million prints)."""

from __future__ import annotations

from liqmon_sim.market import SizeModel
from liqmon_sim.scenarios.base import Scenario, register


def _rate(t: float) -> float:
    # ramps in over 5 s, holds ~3,000/s with a 30 s wave on top
    ramp = min(1.0, t / 5.0)
    wave = 1.0 + 0.3 * ((t % 30.0) / 15.0 - 1.0) ** 2
    return 3000.0 * ramp * wave


@register("cascade")
def cascade() -> Scenario:
    return Scenario(
        "cascade",
        "thousands of liquidations per second across hundreds of symbols, longs wiped",
        _rate,
        sizes=SizeModel(median_usd=2_500.0, sigma=1.7, whale_prob=0.004, long_share=0.85),
        spread=0.45,
        drift=-0.00004,
        cluster_prob=0.3,
    )
