"""Every recorded Deribit liquidation trade becomes exactly the events expected.json lists;
the M/T/MT side rule, units by instrument type, ids and hostile input."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema_rs
import orjson
import pytest

from liqmon.collector.frames import SpecMissing, parse
from liqmon_deribit.parser import TradesParser, liquidated_side, parse_instruments
from tests.collectors.fixtures import as_expected, expected, fixture_text
from tests.conftest import FIXTURES
from tests.test_docs import events_schema

RECV = 1_800_000_000_000


def parser() -> TradesParser:
    return TradesParser(parse_instruments(
        json.loads((FIXTURES / "deribit/deribit_get_instruments_excerpt.json").read_text())
    ))  # fmt: skip


def deribit_trades() -> list[str]:
    return sorted(f"deribit/{p.name}" for p in (FIXTURES / "deribit").glob("deribit_trades_*.json"))


def notification(*trades: dict[str, object]) -> str:
    return orjson.dumps(
        {"jsonrpc": "2.0", "method": "subscription",
         "params": {"channel": "trades.future.BTC.100ms", "data": list(trades)}}
    ).decode()  # fmt: skip


def trade(n: int = 1, **fields: object) -> dict[str, object]:
    return {
        "trade_seq": n, "trade_id": f"BTC-{n}", "timestamp": 1_790_000_000_000 + n,
        "tick_direction": 0, "price": 80000.5, "instrument_name": "BTC-PERPETUAL",
        "index_price": 80010, "direction": "sell", "amount": 1000, **fields,
    }  # fmt: skip


def test_every_deribit_trade_fixture_has_expectations() -> None:
    listed = {name for name in expected() if name.startswith("deribit/")}
    assert set(deribit_trades()) == listed and len(listed) == 3


@pytest.mark.parametrize("rel", deribit_trades())
def test_deribit_fixture(rel: str) -> None:
    events = parse(parser(), fixture_text(rel), RECV)
    assert [as_expected(e) for e in events] == expected()[rel]
    assert all(not e.sampled and e.recv_ts == RECV for e in events)
    again = parse(parser(), fixture_text(rel), RECV + 7)
    assert [e.id for e in again] == [e.id for e in events]
    assert len({e.id for e in events}) == len(events)  # MT: two liquidations, two ids


@pytest.mark.parametrize(
    ("direction", "party", "side"),
    [("sell", "T", "long"), ("buy", "T", "short"), ("buy", "M", "long"), ("sell", "M", "short")],
)
def test_side_rule(direction: str, party: str, side: str) -> None:
    assert liquidated_side(direction, party) == side
    (event,) = parse(parser(), notification(trade(direction=direction, liquidation=party)), RECV)
    assert event.side == side


def test_mt_is_two_events_maker_first() -> None:
    events = parse(parser(), notification(trade(direction="buy", liquidation="MT")), RECV)
    assert [e.side for e in events] == ["long", "short"]  # maker sold, taker bought
    assert events[0].usd_cents == events[1].usd_cents == 1000_00


def test_ordinary_trades_are_not_liquidations() -> None:
    frame = notification(trade(1), trade(2, liquidation="T"), trade(3, liquidation=None))
    assert [e.ts % 1000 for e in parse(parser(), frame, RECV)] == [2]


def test_linear_amount_is_coins() -> None:
    (event,) = parse(
        parser(),
        notification(trade(instrument_name="BTC_USDC-PERPETUAL", amount=0.25, liquidation="T")),
        RECV,
    )
    assert (event.product, event.margin, event.symbol, event.qty, event.usd_cents) == (
        "deribit-linear", "linear", "BTC", Decimal("0.25"), 20000_12,  # 20000.125, half-even
    )  # fmt: skip
    assert event.price_kind == "fill" and event.price == Decimal("80000.5")


def test_unknown_instrument_waits_for_its_spec() -> None:
    with pytest.raises(SpecMissing):
        parse(parser(), notification(trade(instrument_name="SOL-PERPETUAL", liquidation="T")), RECV)


def test_instrument_types() -> None:
    got = parse_instruments({"result": [
        {"instrument_name": "BTC-27DEC26", "kind": "future", "base_currency": "BTC",
         "quote_currency": "USD", "instrument_type": "reversed"},
        {"instrument_name": "ETH_USDT-PERPETUAL", "kind": "future", "base_currency": "ETH",
         "quote_currency": "USDT", "instrument_type": "linear"},
        {"instrument_name": "BTC-1JAN27-90000-C", "kind": "option", "base_currency": "BTC",
         "quote_currency": "BTC"},
    ]})  # fmt: skip
    assert {k: v.margin for k, v in got.items()} == {
        "BTC-27DEC26": "inverse", "ETH_USDT-PERPETUAL": "linear",
    }  # fmt: skip


def test_a_bad_trade_does_not_lose_the_good_ones() -> None:
    result = parser().parse_frame(
        notification(
            trade(1, liquidation="T"),
            trade(2, liquidation="X"),
            trade(3, liquidation="T", direction="up"),
            trade(4, liquidation="M", amount="-3"),
            trade(5, liquidation="MT"),
        ),
        RECV,
    )
    assert [e.ts % 1000 for e in result.events] == [1, 5, 5]
    channel = "trades.future.BTC.100ms"
    assert [b.context for b in result.bad] == [
        f"{channel} data[1]", f"{channel} data[2] T", f"{channel} data[3] M",
    ]  # fmt: skip
    assert orjson.loads(result.bad[0].raw)["params"]["data"][0]["trade_seq"] == 2


@pytest.mark.parametrize(
    "raw",
    ["{garbage", "[]", '{"jsonrpc":"2.0","method":"subscription","params":{"data":{}}}',
     '{"jsonrpc":"2.0"}', "x" * 100_000, '{"a":Infinity}'],
)  # fmt: skip
def test_hostile_frames_are_bad_not_raised(raw: str) -> None:
    result = parser().parse_frame(raw, RECV)
    assert result.bad and not result.events


def test_control_frames_and_the_test_request_callback() -> None:
    asked: list[int] = []
    p = TradesParser({}, on_test_request=lambda: asked.append(1))
    heartbeat = fixture_text("deribit/deribit_heartbeat_test_request_2026.json")
    test_request = p.parse_frame(heartbeat, 0)
    assert test_request.control == "test_request" and asked == [1]
    for rel in ("deribit_subscribe_ack_2021", "deribit_set_heartbeat_response_doc_example"):
        assert p.parse_frame(fixture_text(f"deribit/{rel}.json"), 0).control == "result"
    error = p.parse_frame(fixture_text("deribit/deribit_error_raw_unauthorized_2026.json"), 0)
    assert error.error and "13778" in error.error and not error.bad


def test_events_match_the_published_stream_schema() -> None:
    validator = jsonschema_rs.validator_for(events_schema())
    for rel in deribit_trades():
        for event in parse(parser(), fixture_text(rel), RECV):
            assert validator.is_valid(event.to_fields()), rel
