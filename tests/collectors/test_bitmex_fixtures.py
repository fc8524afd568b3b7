"""Every recorded BitMEX `liquidation` frame, replayed in recording order against one order
state, becomes exactly the events expected.json lists; the lifecycle rule (inserts and
growth count, fills/deletes/re-pricing do not), ids, units and hostile input."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema_rs
import orjson
import pytest

from liqmon.collector.frames import SpecMissing, parse
from liqmon_bitmex.parser import LiquidationParser, parse_instruments
from tests.collectors.fixtures import as_expected, expected, fixture_text
from tests.conftest import FIXTURES
from tests.test_docs import events_schema

RECV = 1_800_000_000_000
ORDER = "0b6e9a42-0000-4000-8000-000000000001"


def specs_doc() -> dict[str, object]:
    doc: dict[str, object] = json.loads(
        (FIXTURES / "bitmex/bitmex_instruments_for_fixtures.json").read_text()
    )
    return doc


def fixture_parser() -> LiquidationParser:
    doc = specs_doc()
    parser = LiquidationParser(parse_instruments(doc["instruments"]))
    parser.xbt_usd = Decimal(str(doc["xbt_usd_for_fixtures"]))  # the ASSUMED quanto price
    return parser


def bitmex_frames() -> list[str]:
    return sorted(
        f"bitmex/{p.name}" for p in (FIXTURES / "bitmex").glob("bitmex_*.json")
        if "liquidation" in p.name or "recording" in p.name
    )  # fmt: skip


def frame(action: str, *rows: dict[str, object]) -> str:
    return orjson.dumps({"table": "liquidation", "action": action, "data": list(rows)}).decode()


def row(order: str = ORDER, **fields: object) -> dict[str, object]:
    return {"orderID": order, "symbol": "XBTUSD", **fields}


def test_every_bitmex_frame_has_expectations() -> None:
    listed = {name for name in expected() if name.startswith("bitmex/")}
    assert set(bitmex_frames()) == listed and len(listed) == 22


def test_bitmex_fixtures_replay_in_order_to_exactly_the_expected_events() -> None:
    parser, seen = fixture_parser(), []
    for i, rel in enumerate(bitmex_frames()):
        events = parse(parser, fixture_text(rel), RECV + i)
        got = [{**as_expected(e), "ts": None} for e in events]
        assert got == expected()[rel], rel
        # no time on the wire: the event time is the collector's receive time
        assert all(e.ts == e.recv_ts == RECV + i and not e.sampled for e in events)
        seen += [e.id for e in events]
    assert len(seen) == len(set(seen)) == 9
    # a replica (or a restart replaying the same frames) gives the same ids
    replica = fixture_parser()
    again = [e.id for rel in bitmex_frames() for e in parse(replica, fixture_text(rel), RECV + 99)]
    assert again == seen


def test_sell_is_a_long_liquidation_and_buy_a_short() -> None:
    parser = fixture_parser()
    events = parse(
        parser,
        frame(
            "insert",
            row("a", side="Sell", price=90000, leavesQty=100),
            row("b", side="Buy", price=90000, leavesQty=100),
        ),
        RECV,
    )
    assert [e.side for e in events] == ["long", "short"]


def test_growth_counts_only_the_increase_above_the_most_counted() -> None:
    parser = fixture_parser()
    (first,) = parse(parser, frame("insert", row(side="Sell", price=90000, leavesQty=1000)), RECV)
    assert parse(parser, frame("update", row(leavesQty=400)), RECV) == []  # fills
    assert parse(parser, frame("update", row(leavesQty=900)), RECV) == []  # still below 1000
    (grown,) = parse(parser, frame("update", row(leavesQty=1500)), RECV)
    assert grown.usd_cents == 500_00 and grown.price == 90000  # +500, at the order's price
    (again,) = parse(parser, frame("update", row(price=89000, leavesQty=1600)), RECV)
    assert again.usd_cents == 100_00 and again.price == 89000
    assert parse(parser, frame("update", row(price=88000)), RECV) == []  # re-priced only
    assert parse(parser, frame("delete", row()), RECV) == []
    assert len({first.id, grown.id, again.id}) == 3


def test_a_snapshot_after_a_reconnect_counts_only_what_is_new() -> None:
    parser = fixture_parser()
    parse(parser, frame("insert", row(side="Buy", price=90000, leavesQty=1000)), RECV)
    snapshot = frame(
        "partial",
        row(side="Buy", price=90000, leavesQty=1200),  # grew while we were away
        row("new", side="Sell", price=91000, leavesQty=300),  # inserted while we were away
    )
    events = parse(parser, snapshot, RECV + 5)
    assert [(e.side, e.usd_cents) for e in events] == [("short", 200_00), ("long", 300_00)]
    assert parse(parser, snapshot, RECV + 9) == []  # the same snapshot again: nothing


def test_updates_and_deletes_of_unknown_orders_count_nothing() -> None:
    parser = fixture_parser()
    assert parse(parser, frame("update", row("x", leavesQty=5000, price=1)), RECV) == []
    assert parse(parser, frame("delete", row("x")), RECV) == []


def test_units_inverse_linear_quanto() -> None:
    parser = fixture_parser()
    inverse, linear, quanto = parse(
        parser,
        frame(
            "insert",
            row("i", side="Sell", price=80000, leavesQty=8000),
            {**row("l", side="Sell", price=80000, leavesQty=250000), "symbol": "XBTUSDT"},
            {**row("q", side="Sell", price=2000, leavesQty=10), "symbol": "ETHUSD"},
        ),
        RECV,
    )
    assert (inverse.product, inverse.margin, inverse.qty, inverse.usd_cents) == (
        "bitmex-inverse", "inverse", Decimal("0.1"), 8000_00,
    )  # fmt: skip
    assert (linear.product, linear.margin, linear.qty, linear.usd_cents) == (
        "bitmex-linear", "linear", Decimal("0.25"), 20000_00,
    )  # fmt: skip
    # 10 contracts × 100 × 88500 / 10^8 = 0.885 ETH, × 2000 = 1770 USD
    assert (quanto.product, quanto.margin, quanto.symbol, quanto.qty, quanto.usd_cents) == (
        "bitmex-quanto", "inverse", "ETH", Decimal("0.885"), 1770_00,
    )  # fmt: skip
    assert inverse.symbol == linear.symbol == "BTC"


def test_quanto_waits_for_an_xbt_price_and_unknown_symbols_wait_for_specs() -> None:
    parser = LiquidationParser(parse_instruments(specs_doc()["instruments"]))
    quanto = {**row("q", side="Buy", price=2000, leavesQty=10), "symbol": "ETHUSD"}
    held = parser.parse_frame(frame("insert", quanto), RECV).held
    assert [h.instrument for h in held] == ["XBTUSD price"]
    parser.parse_frame('{"table":"instrument","action":"update","data":'
                       '[{"symbol":"XBTUSD","markPrice":100000.5}]}', RECV)  # fmt: skip
    assert held[0].resolve().qty == Decimal("1.000005")
    with pytest.raises(SpecMissing):
        parse(parser, frame("insert", {**row("n", side="Buy", price=1, leavesQty=1),
                                       "symbol": "NEWUSDT"}), RECV)  # fmt: skip


def test_numbers_are_exact_decimals() -> None:
    parser = fixture_parser()
    (event,) = parse(parser, frame("insert", row(side="Buy", price=0.1, leavesQty=3)), RECV)
    assert event.price == Decimal("0.1") and event.qty == 30


def test_a_bad_row_does_not_lose_the_good_ones() -> None:
    parser = fixture_parser()
    result = parser.parse_frame(
        frame(
            "insert",
            row("1", side="Buy", price=90000, leavesQty=10),
            row("2", side="Long", price=90000, leavesQty=10),
            row("3", side="Buy", price="NaN", leavesQty=10),
            row("4", side="Buy", price=90000, leavesQty=-5),
            row("5", side="Buy", price=90000, leavesQty=True),
            row("6", side="Buy", price=90000, leavesQty=10),
        ),
        RECV,
    )
    assert [e.usd_cents for e in result.events] == [10_00, 10_00]
    assert [b.context for b in result.bad] == [f"bitmex insert data[{i}]" for i in (1, 2, 3, 4)]
    assert orjson.loads(result.bad[0].raw)["data"][0]["orderID"] == "2"


@pytest.mark.parametrize(
    "raw",
    ["{garbage", "[]", '{"table":"liquidation","action":"insert","data":{}}',
     '{"table":"liquidation","action":"upsert","data":[]}', '{"table":"orderBookL2"}',
     '{"hello":1}', '{"table":"liquidation","action":"insert","data":[{"price":1e999}]}',
     "x" * 100_000, '{"a":NaN}'],
)  # fmt: skip
def test_hostile_frames_are_bad_not_raised(raw: str) -> None:
    result = fixture_parser().parse_frame(raw, RECV)
    assert result.bad and not result.events


def test_control_frames() -> None:
    parser = fixture_parser()
    for name, control in (("welcome_2024", "welcome"), ("subscribe_ack_2024", "ack")):
        result = parser.parse_frame(fixture_text(f"bitmex/bitmex_{name}.json"), RECV)
        assert result.control == control and not result.bad
    assert parser.parse_frame("pong", RECV).control == "pong"
    error = parser.parse_frame(fixture_text("bitmex/bitmex_error_400_2024.json"), RECV)
    assert error.error and "Unrecognized request" in error.error and not error.bad


def test_events_match_the_published_stream_schema() -> None:
    validator = jsonschema_rs.validator_for(events_schema())
    parser = fixture_parser()
    events = [e for rel in bitmex_frames() for e in parse(parser, fixture_text(rel), RECV)]
    assert events and all(validator.is_valid(e.to_fields()) for e in events)
