"""Every recorded Bybit allLiquidation fixture parses to exactly the events expected.json
lists; the side rule, inverse valuation and hostile input beyond the fixtures."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from liqmon.collector.frames import parse
from liqmon.collector.topics import chunk_topics
from liqmon_bybit.parser import AllLiquidationParser, BybitInstrument, coin_from_symbol
from tests.collectors.bybit_loopback import element, push
from tests.collectors.fixtures import as_expected, expected, fixture_text
from tests.conftest import FIXTURES

RECV = 1_800_000_000_000


def bybit_fixtures() -> list[str]:
    return sorted(
        f"bybit/{p.name}" for p in (FIXTURES / "bybit").glob("bybit_all_liquidation_*.json")
    )


def test_every_bybit_fixture_has_expectations() -> None:
    listed = {name for name in expected() if name.startswith("bybit/")}
    assert set(bybit_fixtures()) == listed and len(listed) == 6


@pytest.mark.parametrize("rel", bybit_fixtures())
def test_bybit_fixture(rel: str) -> None:
    events = parse(AllLiquidationParser("linear", {}), fixture_text(rel), RECV)
    assert [as_expected(e) for e in events] == expected()[rel]
    assert all(not e.sampled and e.recv_ts == RECV for e in events)
    again = parse(AllLiquidationParser("linear", {}), fixture_text(rel), RECV + 7)
    assert [e.id for e in again] == [e.id for e in events]  # deterministic ids


def test_buy_is_a_long_liquidation_and_sell_a_short() -> None:
    parser = AllLiquidationParser("linear", {})
    frame = push("BTCUSDT", element(1, side="Buy"), element(2, side="Sell"))
    assert [e.side for e in parse(parser, frame, RECV)] == ["long", "short"]


def test_inverse_usd_is_v_and_qty_is_v_over_p() -> None:
    # The deprecated-topic inverse capture (docs/venues/bybit.md): 6949 USD of XRP at 0.5149.
    parser = AllLiquidationParser("inverse", {})
    frame = push(
        "XRPUSD", {"T": 1680673944093, "s": "XRPUSD", "S": "Sell", "v": "6949", "p": "0.5149"}
    )
    (event,) = parse(parser, frame, RECV)
    assert (event.product, event.margin, event.symbol, event.side) == (
        "bybit-inverse", "inverse", "XRP", "short",
    )  # fmt: skip
    assert event.usd_cents == 694_900
    assert event.qty == Decimal("13495.82443193")  # half-even to 8 decimals
    assert event.price_kind == "bankruptcy" and not event.sampled


def test_listing_coin_and_multiplier() -> None:
    specs = {"1000PEPEUSDT": BybitInstrument("linear", "1000PEPE", "USDT", "Trading")}
    (event,) = parse(
        AllLiquidationParser("linear", specs),
        push("1000PEPEUSDT", element(0, "1000PEPEUSDT", v="2")),
        RECV,
    )
    assert event.symbol == "PEPE" and event.qty == 2000
    assert event.usd_cents == 16_479_380  # 2 × 82396.90: the notional is per block


@pytest.mark.parametrize(
    ("symbol", "coin"),
    [("BTCUSDT", "BTC"), ("ETHPERP", "ETH"), ("BTC-26DEC25", "BTC"), ("BTCUSDT-26DEC25", "BTC"),
     ("BTCUSD", "BTC"), ("BTCUSDH25", "BTC"), ("ETHUSDZ26", "ETH")],
)  # fmt: skip
def test_coin_from_symbol(symbol: str, coin: str) -> None:
    assert coin_from_symbol(symbol) == coin


def test_a_bad_element_does_not_lose_the_good_ones() -> None:
    parser = AllLiquidationParser("linear", {})
    frame = push(
        "BTCUSDT",
        element(1),
        {**element(2), "v": "-1"},
        {**element(3), "S": "Long"},
        {**element(4), "p": 82396.9},  # a JSON number: refused, never a float
        element(5),
    )
    result = parser.parse_frame(frame, RECV)
    assert [e.ts - element(0)["T"] for e in result.events] == [1, 5]
    assert [b.context for b in result.bad] == [
        "'allLiquidation.BTCUSDT' data[1]", "'allLiquidation.BTCUSDT' data[2]",
        "'allLiquidation.BTCUSDT' data[3]",
    ]  # fmt: skip
    assert orjson.loads(result.bad[0].raw)["data"] == [{**element(2), "v": "-1"}]


@pytest.mark.parametrize(
    "raw",
    ["{garbage", "[]", '{"topic":"liquidation.BTCUSDT","data":{}}', '{"topic":"allLiquidation.X"}',
     '{"topic":"allLiquidation.X","data":[]}', '{"op":"auth","success":true}', "x" * 100_000],
)  # fmt: skip
def test_hostile_frames_are_bad_not_raised(raw: str) -> None:
    result = AllLiquidationParser("linear", {}).parse_frame(raw, RECV)
    assert result.bad and not result.events


def test_control_frames() -> None:
    parser = AllLiquidationParser("linear", {})
    pong = parser.parse_frame(fixture_text("bybit/bybit_pong_doc_example.json"), RECV)
    ack = parser.parse_frame(fixture_text("bybit/bybit_subscribe_ack_doc_example.json"), RECV)
    assert (pong.control, ack.control) == ("pong", "ack") and not (pong.bad or ack.bad)
    refused = '{"success":false,"ret_msg":"Invalid symbol","req_id":"%s","op":"subscribe"}'
    live = parser.parse_frame(refused % "live-3", RECV)
    opening = parser.parse_frame(refused % "open-3", RECV)
    assert live.error and "Invalid symbol" in live.error and live.reconnect
    assert opening.error and not opening.reconnect


def test_chunks_respect_the_args_limits() -> None:
    topics = [f"allLiquidation.{n:04d}SYMBOLUSDT" for n in range(805)]
    chunks = chunk_topics(topics, max_count=200, max_chars=21_000)
    assert [len(c) for c in chunks] == [200, 200, 200, 200, 5]
    small = chunk_topics(topics, max_count=1000, max_chars=2_000)
    assert all(len(orjson.dumps(c)) <= 2_000 for c in small)
    assert [t for c in small for t in c] == topics and len(small) > 10
    with pytest.raises(ValueError, match="longer than"):
        chunk_topics(["x" * 300], max_count=10, max_chars=200)
