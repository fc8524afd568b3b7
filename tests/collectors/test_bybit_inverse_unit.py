"""Bybit's inverse `v` unit is inferred (USD), so the collector checks it against the
listing's qtyStep at run time and says in the status `notes` what the totals rest on."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from liqmon.collector.frames import parse
from liqmon_bybit.inverse_unit import COINS_IMPLAUSIBLE_USD, MIN_SWITCH_VOTES, InverseUnit
from liqmon_bybit.parser import AllLiquidationParser, BybitInstrument, parse_instruments_page
from tests.collectors.bybit_loopback import push

RECV = 1_800_000_000_000
BTCUSD = BybitInstrument("inverse", "BTC", "USD", "Trading", Decimal(1))


def liquidation(i: int, v: str, p: str = "90000.5", symbol: str = "BTCUSD") -> dict[str, str]:
    return {"T": str(RECV - 1_000 + i), "s": symbol, "S": "Buy", "v": v, "p": p}


def test_the_listing_gives_each_symbol_its_qty_step() -> None:
    doc = {"retCode": 0, "result": {"list": [
        {"symbol": "BTCUSD", "baseCoin": "BTC", "quoteCoin": "USD", "status": "Trading",
         "lotSizeFilter": {"minOrderQty": "1", "qtyStep": "1"}},
        {"symbol": "ETHUSD", "baseCoin": "ETH", "quoteCoin": "USD", "status": "Trading",
         "lotSizeFilter": {"qtyStep": "zero"}},
        {"symbol": "XRPUSD", "baseCoin": "XRP", "quoteCoin": "USD", "status": "Trading"},
    ], "nextPageCursor": ""}}  # fmt: skip
    page, _ = parse_instruments_page(doc, "inverse")
    assert {s: i.qty_step for s, i in page.items()} == {
        "BTCUSD": Decimal(1), "ETHUSD": None, "XRPUSD": None,
    }  # fmt: skip


def test_each_size_votes_only_where_one_reading_is_impossible() -> None:
    unit = InverseUnit()
    unit.observe(Decimal(20_000), Decimal("90000.5"), Decimal(1), RECV)  # $1.8B as coins
    unit.observe(Decimal(6_949), Decimal("0.5149"), Decimal(1), RECV)  # fits both
    unit.observe(Decimal(5), Decimal("90000.5"), None, RECV)  # no step: not checked
    assert unit.votes == {"usd": 1, "coins": 0}
    assert (unit.ambiguous, unit.unchecked, unit.in_force) == (1, 1, "usd")
    unit.observe(Decimal("0.25"), Decimal("90000.5"), Decimal(1), RECV)  # not whole contracts
    assert unit.votes == {"usd": 1, "coins": 1} and unit.in_force == "usd"
    assert Decimal(20_000) * Decimal("90000.5") > COINS_IMPLAUSIBLE_USD


def test_usd_in_force_values_v_as_dollars_and_says_on_what_it_rests() -> None:
    parser = AllLiquidationParser("inverse", {"BTCUSD": BTCUSD})
    events = parse(parser, push("BTCUSD", liquidation(1, "20000"), liquidation(2, "3")), RECV)
    assert [e.usd_cents for e in events] == [2_000_000, 300]
    assert events[1].qty == Decimal("0.00003333")  # 3 / 90000.5, half-even to 8 decimals
    assert parser.inverse_unit is not None
    notes = parser.inverse_unit.notes()
    assert notes["inverse_v_unit"] == "usd"
    assert (
        notes["inverse_v_basis"]
        == "listing qtyStep and sizes: 1 of 1 deciding inverse liquidations agree"
    )
    assert (notes["inverse_v_votes_usd"], notes["inverse_v_ambiguous"]) == ("1", "1")
    fresh = AllLiquidationParser("inverse", {}).inverse_unit
    assert fresh is not None and "not yet confirmed" in fresh.notes()["inverse_v_basis"]
    assert AllLiquidationParser("linear", {}).inverse_unit is None


def test_sizes_that_cannot_be_contracts_switch_the_reading_to_coins(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If Bybit sent coins, fractional sizes would show it: once they outvote the USD
    evidence (and number MIN_SWITCH_VOTES) the reading switches, loudly and once, and an id
    never depends on the reading."""
    parser = AllLiquidationParser("inverse", {"BTCUSD": BTCUSD})
    unit = parser.inverse_unit
    assert unit is not None
    odd = [liquidation(i, "0.5") for i in range(MIN_SWITCH_VOTES - 1)]
    before = parse(parser, push("BTCUSD", *odd), RECV)
    assert unit.in_force == "usd"  # a few odd sizes do not revalue the venue
    assert [e.usd_cents for e in before] == [50] * len(odd)
    with caplog.at_level(logging.ERROR):
        (after,) = parse(parser, push("BTCUSD", liquidation(9, "0.25")), RECV)
        (later,) = parse(parser, push("BTCUSD", liquidation(10, "0.75")), RECV)
    assert unit.in_force == "coins"
    assert after.qty == Decimal("0.25") and after.usd_cents == 2_250_012  # 22500.125 half-even
    assert later.usd_cents == 6_750_038  # 67500.375
    assert len(caplog.records) == 1 and "SWITCHED" in caplog.records[0].getMessage()
    usd_reader = AllLiquidationParser("inverse", {}, InverseUnit())
    (as_usd,) = parse(usd_reader, push("BTCUSD", liquidation(9, "0.25")), RECV)
    assert as_usd.usd_cents == 25 and as_usd.id == after.id  # same wire values, same id
    notes = unit.notes()
    assert notes["inverse_v_unit"] == "coins" and notes["inverse_v_switched_at"] == str(RECV)
    assert notes["inverse_v_rule"] == "inverse v is coins: usd = v × p, qty = v (to 8 decimals)"
    assert notes["inverse_v_basis"] == (
        f"listing qtyStep and sizes: {MIN_SWITCH_VOTES + 1} of {MIN_SWITCH_VOTES + 1} "
        "deciding inverse liquidations agree"
    )


def test_a_switch_is_logged_once_per_direction(caplog: pytest.LogCaptureFixture) -> None:
    unit = InverseUnit()
    fractional, huge = Decimal("0.5"), Decimal(10**8)  # coins / usd votes at price 100
    with caplog.at_level(logging.ERROR, logger="liqmon_bybit.inverse_unit"):
        for size in [fractional] * 5 + [huge] * 6 + [fractional] * 2:  # usd->coins->usd->coins
            unit.observe(size, Decimal(100), Decimal(1), RECV)
    assert unit.in_force == "coins" and unit.votes == {"usd": 6, "coins": 7}
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2  # the second usd -> coins is not logged again
    assert "'usd' reading (5 of 5 deciding liquidations say 'coins')" in messages[0]
    assert "'coins' reading (6 of 11 deciding liquidations say 'usd')" in messages[1]


def test_a_refused_liquidation_does_not_vote() -> None:
    parser = AllLiquidationParser("inverse", {"BTCUSD": BTCUSD})
    unit = parser.inverse_unit
    assert unit is not None
    result = parser.parse_frame(push("BTCUSD", liquidation(1, "200000000000")), RECV)  # $2e11
    assert result.events == [] and len(result.bad) == 1  # over MAX_USD: dead-lettered
    assert (unit.decided, unit.ambiguous, unit.unchecked) == (0, 0, 0)
