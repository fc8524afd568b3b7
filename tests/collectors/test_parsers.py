"""Parser rules beyond the fixtures: symbol unification, held specs, hostile input."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liqmon.collector.frames import parse
from liqmon.collector.instruments import SpecCache
from liqmon.collector.symbols import split_multiplier, strip_usd_quote
from liqmon_binance.parser import COINM, USDM, BinanceSpec, ForceOrderParser
from liqmon_okx.parser import LiquidationOrdersParser, OkxSpec
from tests.collectors.fixtures import okx_specs
from tests.collectors.wire import binance_frame, okx_detail, okx_frame

RECV = 1_800_000_000_000


@pytest.mark.parametrize(
    ("base", "coin", "mult"),
    [
        ("1000PEPE", "PEPE", 1000),
        ("10000LADYS", "LADYS", 10000),
        ("1000000MOG", "MOG", 1_000_000),
        ("1MBABYDOGE", "BABYDOGE", 1_000_000),
        ("SHIB1000", "SHIB", 1000),
        ("1INCH", "1INCH", 1),
        ("BTC", "BTC", 1),
        ("牛来", "牛来", 1),
    ],
)
def test_split_multiplier(base: str, coin: str, mult: int) -> None:
    assert split_multiplier(base) == (coin, Decimal(mult))


def test_strip_usd_quote() -> None:
    assert strip_usd_quote("BTCUSDT") == "BTC"
    assert strip_usd_quote("BTCUSDC") == "BTC"
    assert strip_usd_quote("ETHFDUSD") == "ETH"
    assert strip_usd_quote("BTCUSDT_260327") == "BTC"  # USDⓈ-M quarterly contract
    assert strip_usd_quote("ETHBTC") is None
    assert strip_usd_quote("USDT") is None


def usdm(symbol: str, specs: dict[str, BinanceSpec] | None = None) -> Any:
    return parse(ForceOrderParser(USDM, specs or {}), binance_frame(5, symbol=symbol), RECV)[0]


def test_binance_multiplier_symbols_are_unified_with_scaled_qty() -> None:
    plain, pepe = usdm("BTCUSDT"), usdm("1000PEPEUSDT")
    assert pepe.symbol == "PEPE" and pepe.qty == plain.qty * 1000
    assert pepe.usd_cents == plain.usd_cents  # notional unchanged
    assert usdm("BTCUSDC").symbol == "BTC"
    assert usdm("1000PEPEUSDT", {"1000PEPEUSDT": BinanceSpec("1000PEPE", "USDT")}).symbol == "PEPE"


def test_binance_non_ascii_symbol_is_kept_as_text() -> None:
    event = usdm("牛来USDT")
    assert event.symbol == "牛来" and event.instrument == "牛来USDT"


def test_binance_pairs_not_quoted_in_usd_are_refused() -> None:
    parser = ForceOrderParser(USDM, {"ETHBTC": BinanceSpec("ETH", "BTC")})
    result = parser.parse_frame(binance_frame(1, symbol="ETHBTC"), RECV)
    assert not result.events and "not a USD quote" in result.bad[0].reason
    assert ForceOrderParser(USDM, {}).parse_frame(binance_frame(1, symbol="ETHBTC"), RECV).bad


def test_coinm_without_contract_size_is_held_then_resolved() -> None:
    specs: dict[str, BinanceSpec] = {}
    result = ForceOrderParser(COINM, specs).parse_frame(
        binance_frame(2, symbol="XRPUSD_PERP"), RECV
    )
    assert not result.events and not result.bad and len(result.held) == 1
    specs["XRPUSD_PERP"] = BinanceSpec("XRP", "USD", Decimal(10))
    event = result.held[0].resolve()
    assert event.symbol == "XRP" and event.usd_cents == int(Decimal("3.002") * 10 * 100)


def test_okx_net_mode_side_comes_from_the_order_side() -> None:
    parser = LiquidationOrdersParser(okx_specs())
    net_sell = {**okx_detail(1), "posSide": "net", "side": "sell"}
    net_buy = {**okx_detail(2), "posSide": "net", "side": "buy"}
    events = parse(parser, okx_frame([net_sell, net_buy]), RECV)
    assert [e.side for e in events] == ["long", "short"]


def test_okx_inverse_swap() -> None:
    (event,) = parse(
        LiquidationOrdersParser(okx_specs()),
        okx_frame([{**okx_detail(0), "sz": "3", "bkPx": "60000"}], inst_id="BTC-USD-SWAP"),
        RECV,
    )
    assert (event.margin, event.usd_cents, event.qty) == ("inverse", 30000, Decimal("0.005"))


def test_okx_frames_with_several_instruments_keep_each_part() -> None:
    frame = orjson.loads(okx_frame([okx_detail(0)]))
    frame["data"].append({**frame["data"][0], "instId": "IOST-USDT-SWAP"})
    frame["data"].append("junk")
    result = LiquidationOrdersParser(okx_specs()).parse_frame(orjson.dumps(frame).decode(), RECV)
    assert [e.instrument for e in result.events] == ["BTC-USDT-SWAP", "IOST-USDT-SWAP"]
    assert [b.context for b in result.bad] == ["data[2]"] and result.bad[0].raw == '"junk"'


@pytest.mark.parametrize(
    "raw",
    [
        "", "pong ", "null", "[]", "{}", '{"event":"login"}', '{"arg":{},"data":[]}',
        '{"arg":{"channel":"liquidation-orders"},"data":{}}',
        '{"arg":{"channel":"liquidation-orders"},"data":[{"instId":"BTC-USDT-SWAP","details":[]}]}',
        '{"arg":{"channel":"liquidation-orders"},"data":[{"instId":7,"details":[{}]}]}',
        okx_frame([{**okx_detail(1), "ts": "-5"}]), okx_frame([{**okx_detail(1), "bkPx": "inf"}]),
        okx_frame([{**okx_detail(1), "sz": "1e30"}]), okx_frame([{**okx_detail(1), "ts": 1.5}]),
    ],
)  # fmt: skip
def test_okx_hostile_frames_are_reported_not_raised(raw: str) -> None:
    result = LiquidationOrdersParser(okx_specs()).parse_frame(raw, RECV)
    assert not result.events
    assert result.bad or result.control == "empty" or result.error


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(order=st.dictionaries(st.sampled_from(["s", "S", "z", "ap", "T", "x"]), json_values))
def test_binance_parser_never_raises(order: dict[str, Any]) -> None:
    raw = json.dumps({"e": "forceOrder", "o": order})  # big ints, NaN: hostile on purpose
    for product in (USDM, COINM):
        result = ForceOrderParser(product, {}).parse_frame(raw, RECV)
        assert len(result.events) + len(result.bad) + len(result.held) == 1


@settings(max_examples=200, deadline=None)
@given(
    detail=st.dictionaries(st.sampled_from(["posSide", "side", "sz", "bkPx", "ts"]), json_values)
)
def test_okx_parser_never_raises(detail: dict[str, Any]) -> None:
    specs: dict[str, OkxSpec] = okx_specs()
    frame = json.loads(okx_frame([]))
    frame["data"][0]["details"] = [detail]
    result = LiquidationOrdersParser(specs).parse_frame(json.dumps(frame), RECV)
    assert len(result.events) + len(result.bad) == 1


def test_usdm_symbol_missing_from_loaded_exchange_info_is_held() -> None:
    specs = {"BTCUSDT": BinanceSpec("BTC", "USDT")}
    result = ForceOrderParser(USDM, specs).parse_frame(binance_frame(1, symbol="ZZ1USDT"), RECV)
    assert not result.events and not result.bad and len(result.held) == 1
    specs["ZZ1USDT"] = BinanceSpec("ZZ1", "USDT")  # the listing shows up on refresh
    assert result.held[0].resolve().symbol == "ZZ1"
    long_name = ForceOrderParser(USDM, specs).parse_frame(binance_frame(1, symbol="A" * 65), RECV)
    assert long_name.bad and not long_name.held  # refused at once, never held


def test_usdm_events_wait_for_the_first_exchange_info_answer() -> None:
    async def never_called() -> dict[str, BinanceSpec]:
        raise AssertionError

    cache: SpecCache[BinanceSpec] = SpecCache("usdm", never_called)
    result = ForceOrderParser(USDM, cache).parse_frame(binance_frame(1, symbol="ZZ1USDT"), RECV)
    assert len(result.held) == 1  # exchangeInfo not asked yet: wait for it
    cache.attempted = True  # ...it could not be loaded: the suffix rules apply
    assert result.held[0].resolve().symbol == "ZZ1"
