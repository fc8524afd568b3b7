"""A digest of what `Market.make` draws under the `crash` scenario, to prove a rewrite of it
changes no value that reaches the wire (run it on both trees, compare the digests).

    .venv/bin/python bench/market_digest.py [--n 300000] [--seed 7] [--timings 3]
    PYTHONPATH=DIR/services/exchange-sim .venv/bin/python bench/market_digest.py   # another tree

The draws follow the driver's pattern: a venue by the scenario's weights, an instrument, a
cluster of up to a few more on it at the same millisecond (so `_unique` nudges quantities),
OKX's late events, and a clock that advances about 1 ms per 15 liquidations (so keys expire).
`--timings N`: also the best of N passes without the digest, in CPU µs per liquidation.
Every field is hashed as its `str`/`repr`: a Decimal with the same value but another exponent
(`1.0` vs `1`) prints differently, so it changes the digest.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from typing import Any

from liqmon_sim.catalog import Catalog
from liqmon_sim.driver import Driver
from liqmon_sim.market import Market, pick_weighted
from liqmon_sim.scenarios import get_scenario


def draws(n: int, seed: int, sha: Any = None) -> float:
    """Make `n` liquidations, hashing each into `sha` when given; returns the CPU seconds
    the whole loop took (picks included: the same draws on either tree)."""
    scenario = get_scenario("crash")
    catalog = Catalog()
    market = Market(catalog, scenario.sizes, scenario.spread, scenario.focus)
    market.drift = scenario.drift
    rng = random.Random(seed)
    venues = list(catalog.by_venue)
    cum = Driver._cum_weights(_WeightsOnly(scenario), venues)  # type: ignore[arg-type]
    now = 1_800_000_000_000
    made = 0
    started = time.process_time()
    while made < n:
        venue = pick_weighted(rng, venues, cum)
        inst = market.pick(rng, venue)
        size = 1 + (rng.randint(1, 5) if rng.random() < scenario.cluster_prob else 0)
        for _ in range(size):
            late = rng.randrange(3000) if venue == "okx" and rng.random() < 0.05 else 0
            liq = market.make(rng, inst, now, late_ms=late)
            if sha is not None:
                row = (
                    liq.inst.venue, liq.inst.inst_id, liq.side, str(liq.qty), str(liq.price),
                    liq.ts, str(liq.usd), str(liq.limit_price), str(liq.last_fill),
                    liq.net_mode, liq.late_ms, liq.cents, repr(liq.qty), repr(liq.price),
                )  # fmt: skip
                sha.update(repr(row).encode())
            made += 1
        if rng.random() < 1 / 15:
            now += 1
    return time.process_time() - started


class _WeightsOnly:
    """What `Driver._cum_weights` reads of a driver (the scenario and its cache)."""

    def __init__(self, scenario: object) -> None:
        self.scenario = scenario
        self._cum_cache: dict[object, list[float]] = {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timings", type=int, default=0, help="best of N untimed-digest runs")
    args = parser.parse_args()
    sha = hashlib.sha256()
    draws(args.n, args.seed, sha)
    cpu = min(draws(args.n, args.seed) for _ in range(args.timings)) if args.timings else 0.0
    print(f"{args.n} liquidations, seed {args.seed}: {sha.hexdigest()}", end="")
    print(f" ({1e6 * cpu / args.n:.2f} CPU us per liquidation drawn)" if cpu else "")


if __name__ == "__main__":
    main()
