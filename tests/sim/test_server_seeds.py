"""Each venue server draws its own random stream from the simulator's seed."""

from __future__ import annotations

from liqmon_sim.settings import SimSettings
from liqmon_sim.venues.plugin import SimContext


def context(seed: int) -> SimContext:
    return SimContext(None, None, SimSettings(), None, seed, None)


def test_servers_draw_distinct_streams_and_a_seed_repeats_them() -> None:
    names = ("okx", "bybit", "bitmex", "deribit", "dydx", "kraken", "bitfinex")
    draws = {name: [context(1).rng(name).random() for _ in range(3)] for name in names}
    assert len({tuple(d) for d in draws.values()}) == len(names)
    assert [context(1).rng("bitmex").random() for _ in range(3)] == draws["bitmex"]
    assert context(2).rng("bitmex").random() != draws["bitmex"][0]
