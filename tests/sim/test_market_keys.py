"""The market's uniqueness keys: a repeated draw is nudged, keys expire by time and by cap."""

from __future__ import annotations

import random

import pytest

from liqmon_sim import market as market_mod
from liqmon_sim.catalog import Catalog
from liqmon_sim.market import EVENT_KEY_MS, Market
from liqmon_sim.scenarios import get_scenario

NOW = 1_798_000_000_000


def _market() -> tuple[Market, object]:
    catalog = Catalog()
    inst = catalog.get("okx", "BTC-USDT-SWAP")
    assert inst is not None
    return Market(catalog, get_scenario("crash").sizes), inst


def test_the_same_draw_at_the_same_time_is_nudged_to_a_new_key():
    market, inst = _market()
    seen = set()
    for _ in range(200):
        # the same seed each time: the same price and size, so every one would repeat
        liq = market.make(random.Random(5), inst, NOW, usd_target=2_000.0, side="long")
        assert liq.id_key() not in seen
        seen.add(liq.id_key())


def test_keys_expire_at_their_deadline():
    market, inst = _market()
    market.make(random.Random(1), inst, NOW)
    assert len(market._keys) == 2  # its event key and its order key
    market.make(random.Random(2), inst, NOW + EVENT_KEY_MS - 1)
    assert len(market._keys) == 4
    # the first event key's deadline has come; its order key lives on (60 s)
    market.make(random.Random(3), inst, NOW + EVENT_KEY_MS)
    assert len(market._keys) == 5


def test_keys_are_capped(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(market_mod, "KEY_CAP", 10)
    market, inst = _market()
    rng = random.Random(9)
    sizes = []
    for _ in range(50):
        market.make(rng, inst, NOW)
        sizes.append(len(market._keys))
    # the oldest go first, down to the cap, before a liquidation adds its two
    assert max(sizes) == 10 + 2 and sizes[-1] == 10 + 2
