"""Matching pushed Gate liquidations with rows of the REST history (`liq_orders`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from liqmon.collector.exactjson import load_exact
from liqmon.collector.instruments import SpecFetchError
from liqmon_gate.history import SideCheck, order_signs
from liqmon_gate.side import Sample, SideConvention
from tests.collectors.fixtures import fixture_text

#: The doc example row: a long position of 600 closed by a sell of 600 at 3405.
DOC_ROW = load_exact(fixture_text("gate/gate_rest_liq_orders_doc_example.json"))
PUSHED_MS = 1548654951_000 + 400


def sample(size: int, price: str = "3405", ts: int = PUSHED_MS) -> Sample:
    return Sample("BTC_USDT", ts, Decimal(price), Decimal(size))


def test_the_doc_row_matches_by_contract_second_and_order_price() -> None:
    assert order_signs(DOC_ROW, sample(-600)) == {-1}
    assert order_signs(DOC_ROW, sample(-600, ts=PUSHED_MS + 1000)) == {-1}  # ±1 s
    assert order_signs(DOC_ROW, sample(-600, ts=PUSHED_MS + 3000)) == set()
    assert order_signs(DOC_ROW, sample(-600, price="3424")) == set()  # the fill price: no
    other = [{**DOC_ROW[0], "contract": "ETH_USDT"}]
    assert order_signs(other, sample(-600)) == set()
    no_order = [{**DOC_ROW[0], "order_size": None, "time": "1548654951"}]
    assert order_signs(no_order, sample(-600)) == {-1}  # from -size, string time
    with pytest.raises(ValueError, match="expected an array"):
        order_signs({"label": "INVALID_PARAM_VALUE"}, sample(1))


async def test_a_check_asks_per_contract_and_votes() -> None:
    convention = SideConvention()
    urls: list[str] = []

    async def fetch(url: str) -> Any:
        urls.append(url)
        return DOC_ROW

    convention.observe("BTC_USDT", PUSHED_MS, Decimal(3405), Decimal(600))  # position sign
    convention.observe("ETH_USDT", PUSHED_MS, Decimal(100), Decimal(-1))  # never in history
    check = SideCheck(convention, "http://rest", delay_ms=0, fetch=fetch)
    await check.check_once()
    assert sorted(u.split("contract=")[1].split("&")[0] for u in urls) == ["BTC_USDT", "ETH_USDT"]
    assert "from=1548654950&to=1548654952&limit=1000" in urls[0]
    assert convention.in_force == "position" and convention.matched == 1
    for _ in range(convention.max_attempts):
        await check.check_once()
    assert convention.unmatched == 1 and convention.pending(PUSHED_MS) == []


async def test_an_unreachable_history_changes_nothing() -> None:
    convention = SideConvention()

    async def fetch(url: str) -> Any:
        raise SpecFetchError(f"GET {url}: ConnectError")

    convention.observe("BTC_USDT", PUSHED_MS, Decimal(3405), Decimal(-600))
    check = SideCheck(convention, "http://rest", delay_ms=0, fetch=fetch)
    for _ in range(10):
        await check.check_once()
    assert convention.in_force == "order" and convention.matched == 0
    assert len(convention.pending(PUSHED_MS)) == 1  # kept for when the history answers
