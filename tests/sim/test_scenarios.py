"""Scenario registry and the market model's realism (no sockets: pure generation)."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from liqmon.venues import VENUES
from liqmon_sim.catalog import Catalog
from liqmon_sim.market import Market, notional_usd, round_cents
from liqmon_sim.scenarios import get_scenario, scenario_names
from liqmon_sim.scenarios.crash import MEAN_RATE
from liqmon_sim.venues.plugin import by_venue, sim_venues


def test_registry_has_the_documented_scenarios():
    assert set(scenario_names()) >= {"demo", "trickle", "cascade", "quiet", "max", "chaos", "crash"}
    with pytest.raises(ValueError, match="unknown scenario"):
        get_scenario("nope")


def test_rates_over_an_hour():
    demo, cascade = get_scenario("demo"), get_scenario("cascade")
    demo_rates = [demo.rate(t) for t in range(3600)]
    assert all(r > 0 and math.isfinite(r) for r in demo_rates)
    assert min(demo_rates) < 5 and max(demo_rates) > 50, "a trickle with bursts"
    assert sum(r > 20 for r in demo_rates) > 300, "bursts last minutes in total"
    assert all(2000 <= cascade.rate(t) <= 5000 for t in range(10, 600))
    assert math.isinf(get_scenario("max").rate(0)) and get_scenario("max").binance_sampling_ms == 0
    assert get_scenario("quiet").rate(0) == 0
    chaos = get_scenario("chaos").faults
    assert chaos.malformed_fraction > 0 and chaos.okx_replay_on_subscribe


def test_demo_market_looks_like_a_volatile_hour():
    scenario = get_scenario("demo")
    catalog = Catalog()
    market = Market(catalog, scenario.sizes, scenario.spread)
    rng = random.Random(3)
    by_coin: Counter[str] = Counter()
    sides: Counter[str] = Counter()
    sizes = []
    for i in range(6000):
        venue = ("binance-usdm", "binance-coinm", "okx")[i % 3]
        liq = market.make(rng, market.pick(rng, venue), 1_795_000_000_000 + i)
        assert liq.usd == round_cents(notional_usd(liq.inst, liq.qty, liq.price)) > 0
        by_coin[liq.inst.coin] += liq.cents
        sides[liq.side] += 1
        sizes.append(liq.usd)
    total = sum(by_coin.values())
    assert (by_coin["BTC"] + by_coin["ETH"] + by_coin["SOL"]) / total > 0.5, "majors dominate"
    assert len(by_coin) > 60, "hundreds of instruments, dozens of coins active"
    assert 0.6 < sides["long"] / 6000 < 0.76, "a dump: mostly longs liquidated"
    sizes.sort()
    assert 500 < sizes[3000] < 5000, "median print of a few thousand dollars"
    assert sizes[-1] > 1_000_000, "a few multi-million prints"


def test_instruments_have_exact_usd_terms():
    catalog = Catalog()
    pepe = catalog.get("binance-usdm", "1000PEPEUSDT")
    assert pepe is not None and (pepe.coin, pepe.multiplier, pepe.base_asset) == (
        "PEPE",
        1000,
        "1000PEPE",
    )
    btc_coinm = catalog.get("binance-coinm", "BTCUSD_PERP")
    assert btc_coinm is not None and btc_coinm.contract_size == 100
    okx_inverse = catalog.get("okx", "BTC-USD-SWAP")
    assert okx_inverse is not None
    # inverse: USD = contracts × ctVal, price does not enter
    assert notional_usd(okx_inverse, okx_inverse.lot * 3, okx_inverse.tick * 999) == 300


def test_crash_scenario_bursts_ten_times_the_mean_and_one_coin_dominates():
    crash = get_scenario("crash")
    rates = [crash.rate(t + 0.5) for t in range(20, 620)]
    mean = sum(rates) / len(rates)
    assert max(rates) == pytest.approx(10 * mean)  # bursts of 10x the mean
    assert min(rates) == pytest.approx(mean / 1.9)  # the base between them
    market = Market(Catalog(), crash.sizes, crash.spread, crash.focus)
    rng = random.Random(5)
    by_coin: Counter[str] = Counter()
    venues: Counter[str] = Counter()
    usd = []
    for venue in sim_venues():
        for _ in range(400):
            liq = market.make(rng, market.pick(rng, venue), 1_798_000_000_000)
            by_coin[liq.inst.coin] += 1
            venues[venue] += 1
            usd.append(float(liq.usd))
    top, top_n = by_coin.most_common(1)[0]
    assert top == "BTC" and top_n > 0.25 * sum(by_coin.values())
    usd.sort()
    assert usd[-len(usd) // 100] > 20 * usd[len(usd) // 2], "fat tail: p99 >> median"


def test_crash_weights_the_complete_feeds_and_its_mean_is_named():
    crash = get_scenario("crash")
    rates = [crash.rate(t + 0.5) for t in range(20, 20 + 20 * 30)]
    assert sum(rates) / len(rates) == pytest.approx(MEAN_RATE)
    assert crash.per_arrival == pytest.approx(1.7)  # 35% clusters of 1-3 more
    shares = crash.venue_weights
    assert shares is not None and set(shares) == set(sim_venues())
    sampled = {row.exchange for row in VENUES if row.sampled}
    withheld = sum(w for v, w in shares.items() if by_venue()[v].exchange in sampled)
    assert 0 < withheld < 0.1 * sum(shares.values()), "sampled venues: a small share"


def test_a_liquidation_smaller_than_one_contract_is_one_whole_contract():
    # Deribit's BTC contracts are 10 USD (a step that is not a power of ten)
    catalog = Catalog()
    inst = catalog.get("deribit-inverse", "BTC-PERPETUAL")
    assert inst is not None and inst.lot == 10
    market = Market(catalog, get_scenario("crash").sizes)
    rng = random.Random(3)
    for usd in (5.0, 9.0, 14.0, 4_017.0):
        liq = market.make(rng, inst, 1_798_000_000_000, usd_target=usd)
        assert liq.qty >= inst.lot and liq.qty % inst.lot == 0
        assert inst.lot <= liq.last_fill <= liq.qty and liq.last_fill % inst.lot == 0
