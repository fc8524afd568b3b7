"""`crash`: a crash day (modelled on 2025-10-10/11) — every venue at once, one coin
dominating, fat tails, and bursts of ten times the mean rate.

The rate is a base with a one-second burst at 10x the base every 20 s (the mean is 1.45x
the base): `rate_multiplier` (or the `rate` control) scales it to what a bench wants to
prove. BTC carries a third or more of the activity; sizes are heavy-tailed (a wide
log-normal plus frequent whales); 90% of the liquidated positions are longs.
"""

from __future__ import annotations

from liqmon_sim.market import SizeModel
from liqmon_sim.scenarios.base import Scenario, register

BASE_RATE = 2_000.0
BURST_EVERY_S = 20.0
BURST_S = 1.0
BURST_FACTOR = 10.0


def _rate(t: float) -> float:
    ramp = min(1.0, t / 3.0)
    burst = BURST_FACTOR if t % BURST_EVERY_S < BURST_S else 1.0
    return BASE_RATE * ramp * burst


@register("crash")
def crash() -> Scenario:
    return Scenario(
        "crash",
        "every venue at once, BTC dominating, fat tails, bursts of 10x the mean rate",
        _rate,
        sizes=SizeModel(median_usd=4_000.0, sigma=2.0, whale_prob=0.01, long_share=0.9),
        spread=0.6,
        focus={"BTC": 12.0, "ETH": 3.0},
        drift=-0.00006,
        cluster_prob=0.35,
        binance_sampling_ms=1000,
    )
