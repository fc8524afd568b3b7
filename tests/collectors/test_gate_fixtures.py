"""Every recorded Gate fixture parses to exactly the events expected.json lists; both frame
shapes, the side conventions, the REST history vote and hostile input."""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pytest

from liqmon.collector.exactjson import load_exact
from liqmon.collector.frames import parse
from liqmon_gate.parser import PublicLiquidatesParser, parse_contracts
from liqmon_gate.side import SideConvention
from tests.collectors.fixtures import as_expected, expected, fixture_text
from tests.conftest import FIXTURES

RECV = 1_800_000_000_000


def gate_fixtures() -> list[str]:
    return sorted(
        f"gate/{p.name}"
        for p in (FIXTURES / "gate").glob("gate_futures_public_liquidates_*.json")
        if "subscribe" not in p.name
    )


def specs() -> dict[str, Decimal]:
    return parse_contracts(
        load_exact(fixture_text("gate/gate_contracts_for_fixtures.json"))["contracts"]
    )


def parser(convention: SideConvention | None = None) -> PublicLiquidatesParser:
    return PublicLiquidatesParser(specs(), convention or SideConvention())


def test_every_gate_fixture_has_expectations() -> None:
    listed = {name for name in expected() if name.startswith("gate/")}
    assert set(gate_fixtures()) == listed and len(listed) == 4


@pytest.mark.parametrize("rel", gate_fixtures())
def test_gate_fixture(rel: str) -> None:
    events = parse(parser(), fixture_text(rel), RECV)
    assert [as_expected(e) for e in events] == expected()[rel]
    assert all(e.sampled and e.recv_ts == RECV for e in events)
    assert [e.id for e in parse(parser(), fixture_text(rel), RECV + 3)] == [e.id for e in events]


def test_real_contracts_excerpt() -> None:
    doc = load_exact(fixture_text("gate/gate_rest_contracts_usdt_excerpt_2023.json"))
    assert parse_contracts(doc) == {"BTC_USDT": Decimal("0.0001")}
    with pytest.raises(ValueError, match="expected an array"):
        parse_contracts({"label": "INVALID"})


def test_the_position_convention_flips_every_side_but_no_id() -> None:
    convention = SideConvention("position")
    for rel in gate_fixtures():
        (event,) = parse(parser(convention), fixture_text(rel), RECV)
        assert event.side == "short"  # every fixture has a negative size
        (order_reading,) = parse(parser(), fixture_text(rel), RECV)
        assert order_reading.side == "long" and order_reading.id == event.id


def test_both_shapes_both_time_keys_numbers_or_strings() -> None:
    array = {"channel": "futures.public_liquidates", "event": "update", "time": 1, "result": [
        {"contract": "BTC_USDT", "price": "80000.1", "size": "12", "time_ms": 1_790_000_000_123},
        {"contract": "BTC_USDT", "price": 80000.2, "size": -3, "time": 1_790_000_001},
    ]}  # fmt: skip
    events = parse(parser(), json.dumps(array), RECV)
    assert [(e.side, e.qty, e.ts, e.price) for e in events] == [
        ("short", Decimal("0.0012"), 1_790_000_000_123, Decimal("80000.1")),
        ("long", Decimal("0.0003"), 1_790_000_001_000, Decimal("80000.2")),
    ]


def test_control_frames() -> None:
    p = parser()
    for rel in ("gate/gate_futures_subscribe_ack_doc_example.json",
                "gate/gate_futures_subscribe_ack_real_2023.json"):  # fmt: skip
        assert p.parse_frame(fixture_text(rel), RECV).control == "ack"
    assert (
        p.parse_frame(fixture_text("gate/gate_futures_pong_doc_example.json"), RECV).control
        == "pong"
    )
    error = p.parse_frame(fixture_text("gate/gate_futures_subscribe_error_doc_example.json"), RECV)
    assert error.error and "SBE" in error.error
    upgrade = p.parse_frame(fixture_text("gate/gate_futures_upgrade_notice_doc_example.json"), RECV)
    assert upgrade.reconnect


def test_unknown_contract_is_held() -> None:
    frame = fixture_text("gate/gate_futures_public_liquidates_1.json").replace(
        "HEI_USDT", "NEW_USDT"
    )
    result = parser().parse_frame(frame, RECV)
    assert not result.events and [h.instrument for h in result.held] == ["NEW_USDT"]


@pytest.mark.parametrize(
    "raw",
    ["{garbage", "[]", '{"channel":"futures.public_liquidates","event":"update","result":null}',
     '{"channel":"futures.public_liquidates","event":"update","result":[]}',
     '{"channel":"futures.public_liquidates","event":"update","result":{"contract":"BTC_USDT",'
     '"price":"1","size":0,"time":1790000000000}}',
     '{"channel":"futures.public_liquidates","event":"update","result":{"contract":"BTC_BTC",'
     '"price":"1","size":5,"time":1790000000000}}',
     '{"channel":"futures.public_liquidates","event":"update","result":{"contract":"BTC_USDT",'
     '"price":"1","size":true,"time":1790000000000}}',
     '{"channel":"futures.public_liquidates","event":"update","result":{"contract":"BTC_USDT",'
     '"price":"1","size":5}}', '{"channel":"futures.candlesticks","event":"update"}'],
)  # fmt: skip
def test_hostile_frames_are_bad_not_raised(raw: str) -> None:
    result = parser().parse_frame(raw, RECV)
    assert result.bad and not result.events


def test_a_bad_element_keeps_its_own_raw_text() -> None:
    frame = (
        '{"channel":"futures.public_liquidates","event":"update","result":['
        '{"contract":"BTC_USDT","price":215.1,"size":"-1","time_ms":1790000000000},'
        '{"contract":"BTC_USDT","price":-2,"size":"-1","time_ms":1790000000001}]}'
    )
    result = parser().parse_frame(frame, RECV)
    assert len(result.events) == 1 and len(result.bad) == 1
    assert orjson.loads(result.bad[0].raw)["result"]["price"] == -2


def test_the_vote_switches_once_the_history_disagrees() -> None:
    convention = SideConvention()
    for rel in gate_fixtures():
        parse(parser(convention), fixture_text(rel), RECV)
    samples = convention.pending(older_than_ms=RECV)
    assert len(samples) == 4 and convention.notes()["side_matched"] == "0"
    # The history's order sizes have the SAME sign as the pushes for the first: agrees.
    convention.vote(samples[0], Decimal(-23), RECV)
    assert convention.in_force == "order"
    # Two that say the push carried the position's sign: the majority flips the reading.
    convention.vote(samples[1], Decimal(9), RECV)
    assert convention.in_force == "order"  # a tie keeps the current reading
    convention.vote(samples[2], Decimal(9), RECV + 1)
    assert convention.in_force == "position" and convention.switched_at == RECV + 1
    notes = convention.notes()
    assert notes["side_convention"] == "position" and notes["side_matched"] == "3"
    assert "2 of 3" in notes["side_basis"]
    (event,) = parse(parser(convention), fixture_text(gate_fixtures()[0]), RECV)
    assert event.side == "short"
