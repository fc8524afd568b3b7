"""`crash`: a crash day (modelled on 2025-10-10/11) — every venue at once, one coin
dominating, fat tails, and bursts of ten times the mean rate.

The rate is a base with a one-second burst every 20 s at ten times the MEAN rate
(`BURST_OVER_MEAN`, as the performance issue's crash asks; 19x the base, and the mean is
1.9x the base, `MEAN_RATE`): `rate_multiplier` (or the `rate` control) scales it to what a
bench wants to prove. BTC carries a third or more of the activity; sizes are heavy-tailed (a wide
log-normal plus frequent whales); 90% of the liquidated positions are longs.

Venue mix: the sampled venues (registry `sampled`: at most one liquidation per contract per
second reaches the wire) get `SAMPLED_WEIGHT` of their usual share. In a real crash they
withhold most of what happens; here that would mean most of the asked rate never leaves the
simulator, so a bench asking for N/s would load the pipeline with far less. Weighted toward
the complete feeds, what is asked is (nearly) what is emitted, and every venue still sees a
crash (a sampled venue's few contracts still fill their one-per-second slots).
"""

from __future__ import annotations

from liqmon.venues import VENUES
from liqmon_sim.market import SizeModel
from liqmon_sim.scenarios.base import Scenario, register
from liqmon_sim.venues.plugin import by_venue, default_weights

BASE_RATE = 2_000.0
BURST_EVERY_S = 20.0
BURST_S = 1.0
#: A burst's rate over the mean rate (the mean includes the bursts).
BURST_OVER_MEAN = 10.0
_BURST_SHARE = BURST_S / BURST_EVERY_S
#: The burst's rate over the base: F with F = BURST_OVER_MEAN * (1 + (F - 1) * share), i.e.
#: M (1 - share) / (1 - M share) (19 for M = 10 and one second in 20).
BURST_FACTOR = BURST_OVER_MEAN * (1 - _BURST_SHARE) / (1 - BURST_OVER_MEAN * _BURST_SHARE)
#: The mean of `_rate` over a burst period (after the ramp), in arrivals per second; each
#: arrival is `Scenario.per_arrival` liquidations on average (clusters).
MEAN_RATE = BASE_RATE * (1 + (BURST_FACTOR - 1) * _BURST_SHARE)
#: A sampled venue's share relative to its usual one (see the module docstring).
SAMPLED_WEIGHT = 0.05


def _rate(t: float) -> float:
    ramp = min(1.0, t / 3.0)
    burst = BURST_FACTOR if t % BURST_EVERY_S < BURST_S else 1.0
    return BASE_RATE * ramp * burst


def _venue_weights() -> dict[str, float]:
    """Each simulator venue's usual share, sampled venues' scaled by `SAMPLED_WEIGHT`."""
    sampled = {row.exchange for row in VENUES if row.sampled}
    plugin = by_venue()
    return {
        venue: share * (SAMPLED_WEIGHT if plugin[venue].exchange in sampled else 1.0)
        for venue, share in default_weights().items()
    }


@register("crash")
def crash() -> Scenario:
    return Scenario(
        "crash",
        "every venue at once, BTC dominating, fat tails, bursts of 10x the mean rate",
        _rate,
        venue_weights=_venue_weights(),
        sizes=SizeModel(median_usd=4_000.0, sigma=2.0, whale_prob=0.01, long_share=0.9),
        spread=0.6,
        focus={"BTC": 12.0, "ETH": 3.0},
        drift=-0.00006,
        cluster_prob=0.35,
        binance_sampling_ms=1000,
    )
