"""Every recorded HTX fixture parses to exactly the events expected.json lists; gzip frames,
ping/pong, the contract-size rules and hostile input beyond the fixtures."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal

import orjson
import pytest

from liqmon.collector.exactjson import load_exact
from liqmon.collector.frames import SpecMissing, parse
from liqmon_htx.parser import (
    LiquidationOrdersParser,
    gunzip_text,
    gzip_text,
    parse_contract_info,
)
from tests.collectors.fixtures import as_expected, expected, fixture_text
from tests.conftest import FIXTURES

RECV = 1_800_000_000_000


def htx_fixtures() -> list[str]:
    return sorted(
        f"htx/{p.name}" for p in (FIXTURES / "htx").glob("htx_*_liquidation_orders_*.json")
    )


def specs(margin: str) -> dict[str, Decimal]:
    doc = load_exact(fixture_text(f"htx/htx_{margin}_swap_contract_info_excerpt_2022.json"))
    return parse_contract_info(doc)


def parser_for(rel: str) -> LiquidationOrdersParser:
    margin = "inverse" if "inverse" in rel else "linear"
    return LiquidationOrdersParser(margin, specs(margin))


def test_every_htx_fixture_has_expectations() -> None:
    listed = {name for name in expected() if name.startswith("htx/")}
    assert set(htx_fixtures()) == listed and len(listed) == 6


@pytest.mark.parametrize("rel", htx_fixtures())
def test_htx_fixture(rel: str) -> None:
    events = parse(parser_for(rel), fixture_text(rel), RECV)
    assert [as_expected(e) for e in events] == expected()[rel]
    assert all(not e.sampled and e.recv_ts == RECV for e in events)
    again = parse(parser_for(rel), fixture_text(rel), RECV + 9)
    assert [e.id for e in again] == [e.id for e in events]


def test_fixture_ids_are_distinct() -> None:
    ids = [e.id for rel in htx_fixtures() for e in parse(parser_for(rel), fixture_text(rel), RECV)]
    assert len(ids) == len(set(ids)) == 6


def test_contract_sizes_are_exact() -> None:
    assert specs("linear") == {
        "BTC-USDT": Decimal("0.001"), "ETH-USDT": Decimal("0.01"), "O3-USDT": Decimal(1),
    }  # fmt: skip
    assert specs("inverse") == {"BTC-USD": 100, "ETH-USD": 10, "BSV-USD": 10}
    with pytest.raises(ValueError, match="unexpected response"):
        parse_contract_info({"status": "error", "err_code": 1})


def test_gzip_round_trip_and_bad_binary() -> None:
    text = fixture_text("htx/htx_ping_2026.json")
    assert gunzip_text(gzip_text(text)) == text
    for bad in (b"not gzip", gzip_text(text)[:-6], gzip_text("x" * 5000)):
        with pytest.raises(ValueError):
            gunzip_text(bad, limit=4096)


def test_small_frames_fail_with_the_checked_reasons() -> None:
    """Frames too small to inflate past the limit take the one-call inflater; what it cannot
    read still fails with the reason the checked inflater gives."""
    text = fixture_text("htx/htx_ping_2026.json")
    assert gunzip_text(gzip_text(text) + b"trailing") == text
    with pytest.raises(ValueError, match=r"^truncated gzip stream$"):
        gunzip_text(gzip_text(text)[:-6])
    with pytest.raises(ValueError, match=r"^not gzip: "):
        gunzip_text(b"not gzip")


@pytest.mark.parametrize("rel", ["htx/htx_ping_2026.json", "htx/htx_ping_doc_example.json"])
def test_a_ping_is_answered_with_its_own_ts(rel: str) -> None:
    result = LiquidationOrdersParser("linear", {}).parse_frame(fixture_text(rel), RECV)
    ping = json.loads(fixture_text(rel))
    assert result.control == "ping" and result.reply is not None
    assert orjson.loads(result.reply) == {"op": "pong", "ts": ping["ts"]}  # a string stays one
    numeric = LiquidationOrdersParser("linear", {}).parse_frame('{"op":"ping","ts":17}', RECV)
    assert numeric.reply == '{"op":"pong","ts":17}'


def test_subscribe_answers() -> None:
    parser = LiquidationOrdersParser("linear", {})
    for rel in ("htx/htx_linear_subscribe_ack_doc_example.json",
                "htx/htx_inverse_subscribe_ack_1.json",
                "htx/htx_linear_subscribe_error_2014_1.json"):  # fmt: skip
        result = parser.parse_frame(fixture_text(rel), RECV)
        assert result.control == "ack" and not result.error and not result.bad
    refused = parser.parse_frame(
        '{"op":"sub","topic":"public.X.liquidation_orders","err-code":2011,'
        '"err-msg":"Contract doesn\'t exist."}',
        RECV,
    )
    assert refused.error and "2011" in refused.error
    close = parser.parse_frame('{"op":"close","ts":1}', RECV)
    assert close.reconnect and close.control == "close"


@pytest.mark.parametrize(("wbits", "memory"), [(12, 3), (9, 1), (15, 8)])
def test_a_push_of_several_liquidations_is_one_event_each(wbits: int, memory: int) -> None:
    """`data[]` holds one or more liquidations of the topic's contract (the simulator sends
    one push per contract per turn): the 2026 recording with two more elements after its
    own, deflated at level 1 with fixed Huffman codes and the window and memory level the
    simulator uses (4 KiB, 3), used before (512 bytes, 1) and zlib's defaults."""
    rel = "htx/htx_linear_liquidation_orders_2.json"
    frame = json.loads(fixture_text(rel))
    (recorded,) = frame["data"]
    frame["data"] += [
        {**recorded, "direction": "sell", "volume": 1, "amount": 0.01, "trade_turnover": 24.4626,
         "created_at": recorded["created_at"] + 1},
        {**recorded, "volume": 12345, "price": 2440.07, "amount": 123.45,
         "trade_turnover": 301226.6415},
    ]  # fmt: skip
    deflater = zlib.compressobj(1, zlib.DEFLATED, 16 + wbits, memory, zlib.Z_FIXED)
    packed = deflater.compress(json.dumps(frame).encode()) + deflater.flush()
    parser = LiquidationOrdersParser("linear", {"ETH-USDT": Decimal("0.01")})
    events = parse(parser, gunzip_text(packed), RECV)
    assert as_expected(events[0]) == expected()[rel][0]
    assert [
        (e.side, e.qty, e.price, e.usd_cents, e.ts - recorded["created_at"]) for e in events
    ] == [
        ("short", Decimal(5), Decimal("2446.26"), 1_223_130, 0),
        ("long", Decimal("0.01"), Decimal("2446.26"), 2_446, 1),
        ("short", Decimal("123.45"), Decimal("2440.07"), 30_122_664, 0),
    ]
    assert len({e.id for e in events}) == 3


def test_direction_is_the_order_side() -> None:
    parser = LiquidationOrdersParser("linear", {"BTC-USDT": Decimal("0.001")})
    frame = push(entry(1, "sell"), entry(2, "buy"))
    assert [e.side for e in parse(parser, frame, RECV)] == ["long", "short"]


def test_unknown_contract_is_held_not_guessed() -> None:
    parser = LiquidationOrdersParser("linear", {})
    result = parser.parse_frame(push(entry(1)), RECV)
    assert not result.events and [h.instrument for h in result.held] == ["BTC-USDT"]
    with pytest.raises(SpecMissing):
        result.held[0].resolve()


def test_linear_amount_must_agree_with_the_contract_size() -> None:
    parser = LiquidationOrdersParser("linear", {"BTC-USDT": Decimal("0.01")})  # 10× too big
    result = parser.parse_frame(push(entry(1, amount=0.227)), RECV)
    assert not result.events and "disagrees" in result.bad[0].reason


def test_numbers_are_exact_not_floats() -> None:
    parser = LiquidationOrdersParser("linear", {"BTC-USDT": Decimal("0.001")})
    (event,) = parse(parser, push(entry(1, volume=300_000, price="0.30000000000000004")), RECV)
    assert event.price == Decimal("0.30000000000000004")  # kept digit for digit
    assert (event.qty, event.usd_cents) == (300, 9000)


def test_a_bad_element_does_not_lose_the_good_ones() -> None:
    parser = LiquidationOrdersParser("linear", {"BTC-USDT": Decimal("0.001")})
    frame = push(entry(1), {**entry(2), "volume": -1}, {**entry(3), "direction": "long"},
                 {**entry(4), "price": "NaN"}, entry(5))  # fmt: skip
    result = parser.parse_frame(frame, RECV)
    assert [e.ts - 1_790_000_000_000 for e in result.events] == [1, 5]
    assert len(result.bad) == 3
    assert orjson.loads(result.bad[0].raw)["data"][0]["volume"] == -1


@pytest.mark.parametrize(
    "raw",
    ["{garbage", "[]", '{"op":"notify","topic":"public.X.kline","data":[{}]}',
     '{"op":"notify","topic":"public.X.liquidation_orders","data":[]}', '{"op":"what"}',
     '{"op":"ping"}',
     '{"op":"notify","topic":"public.X.liquidation_orders","data":[{"volume":NaN}]}',
     "[" * 100_000, '{"op":"notify","data":[{"volume":' + "9" * 5000 + "}]}"],
)  # fmt: skip
def test_hostile_frames_are_bad_not_raised(raw: str) -> None:
    result = LiquidationOrdersParser("linear", {}).parse_frame(raw, RECV)
    assert result.bad and not result.events


def entry(n: int, direction: str = "sell", **changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "symbol": "BTC", "contract_code": "BTC-USDT", "direction": direction,
        "offset": "close", "volume": 227.0, "price": 23350.5,
        "created_at": 1_790_000_000_000 + n,
    }  # fmt: skip
    return {**base, **changes}


def push(*entries: dict[str, object]) -> str:
    text = json.dumps(
        {"op": "notify", "topic": "public.BTC-USDT.liquidation_orders", "ts": 1, "data": entries}
    )
    return text.replace('"0.30000000000000004"', "0.30000000000000004")
