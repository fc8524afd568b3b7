"""A digest of what `Market.make` draws under the `crash` scenario, to prove a rewrite of it
changes no value that reaches the wire (run it on both trees, compare the digests).

    .venv/bin/python bench/market_digest.py [--n 300000] [--seed 7]
    PYTHONPATH=DIR/services/exchange-sim .venv/bin/python bench/market_digest.py   # another tree

The draws follow the driver's pattern: a venue by the scenario's weights, an instrument, a
cluster of up to a few more on it at the same millisecond (so `_unique` nudges quantities),
OKX's late events, and a clock that advances about 1 ms per 15 liquidations (so keys expire).
Every field is hashed as its `str`/`repr`: a Decimal with the same value but another exponent
(`1.0` vs `1`) prints differently, so it changes the digest.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time

from liqmon_sim.catalog import Catalog
from liqmon_sim.driver import Driver
from liqmon_sim.market import Market, pick_weighted
from liqmon_sim.scenarios import get_scenario


def digest(n: int, seed: int) -> tuple[str, float]:
    scenario = get_scenario("crash")
    catalog = Catalog()
    market = Market(catalog, scenario.sizes, scenario.spread, scenario.focus)
    market.drift = scenario.drift
    rng = random.Random(seed)
    venues = list(catalog.by_venue)
    cum = Driver._cum_weights(_WeightsOnly(scenario), venues)  # type: ignore[arg-type]
    sha = hashlib.sha256()
    now = 1_800_000_000_000
    made = 0
    took = 0.0
    while made < n:
        venue = pick_weighted(rng, venues, cum)
        inst = market.pick(rng, venue)
        size = 1 + (rng.randint(1, 5) if rng.random() < scenario.cluster_prob else 0)
        for _ in range(size):
            late = rng.randrange(3000) if venue == "okx" and rng.random() < 0.05 else 0
            t0 = time.perf_counter()
            liq = market.make(rng, inst, now, late_ms=late)
            took += time.perf_counter() - t0
            row = (
                liq.inst.venue, liq.inst.inst_id, liq.side, str(liq.qty), str(liq.price),
                liq.ts, str(liq.usd), str(liq.limit_price), str(liq.last_fill), liq.net_mode,
                liq.late_ms, liq.cents, repr(liq.qty), repr(liq.price),
            )  # fmt: skip
            sha.update(repr(row).encode())
            made += 1
        if rng.random() < 1 / 15:
            now += 1
    return sha.hexdigest(), 1e6 * took / made


class _WeightsOnly:
    """What `Driver._cum_weights` reads of a driver (the scenario and its cache)."""

    def __init__(self, scenario: object) -> None:
        self.scenario = scenario
        self._cum_cache: dict[object, list[float]] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    hexdigest, us = digest(args.n, args.seed)
    print(f"{args.n} liquidations, seed {args.seed}: {hexdigest} ({us:.2f} us per make)")


if __name__ == "__main__":
    main()
