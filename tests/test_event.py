"""The event contract: round trips, exact cents, deterministic ids, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from liqmon.event import (
    FIELDS,
    InvalidEvent,
    LiquidationEvent,
    canon,
    cents_to_str,
    make_event_id,
    make_venue_event_id,
    parse_decimal,
    to_cents,
)


def sample(**changes: object) -> LiquidationEvent:
    base: dict[str, object] = {
        "id": make_event_id(
            "binance", "binance-usdm", "BTCUSDT", "long", 1791565602120, "0.190", "82651.90"
        ),
        "exchange": "binance",
        "product": "binance-usdm",
        "margin": "linear",
        "instrument": "BTCUSDT",
        "symbol": "BTC",
        "side": "long",
        "price": Decimal("82651.90"),
        "price_kind": "avg_fill",
        "qty": Decimal("0.19"),
        "usd_cents": 1570386,
        "ts": 1791565602120,
        "recv_ts": 1791565602200,
        "sampled": True,
    }
    base.update(changes)
    return LiquidationEvent(**base)  # type: ignore[arg-type]


def test_fields_round_trip_in_documented_order() -> None:
    event = sample()
    fields = event.to_fields()
    assert tuple(fields) == FIELDS
    assert fields["usd"] == "15703.86" and fields["price"] == "82651.90"
    assert LiquidationEvent.from_fields(fields) == event
    as_bytes = {k.encode(): v.encode() for k, v in fields.items()}
    assert LiquidationEvent.from_fields(as_bytes) == event


def test_cents_are_half_even_and_exact() -> None:
    assert to_cents(Decimal("0.125")) == 12
    assert to_cents(Decimal("0.135")) == 14
    assert to_cents(Decimal("244.15089")) == 24415
    assert cents_to_str(5) == "0.05" and cents_to_str(-1234) == "-12.34"


def test_id_is_deterministic_and_canonical() -> None:
    a = make_event_id("okx", "okx-swap", "BTC-USDT-SWAP", "long", 1, "5.000", "100.10")
    b = make_event_id("okx", "okx-swap", "BTC-USDT-SWAP", "long", 1, "5", "100.1")
    c = make_event_id("okx", "okx-swap", "BTC-USDT-SWAP", "short", 1, "5", "100.1")
    assert a == b != c and len(a) == 32
    assert canon("0.190") == "0.19" and canon("5.000") == "5" and canon("100") == "100"


@pytest.mark.parametrize("text", ["", "abc", "NaN", "inf", "-1", "0", "1e999999", 1.5, None])
def test_parse_decimal_refuses_junk(text: object) -> None:
    with pytest.raises(InvalidEvent):
        parse_decimal(text, "qty")


@pytest.mark.parametrize(
    "change",
    [
        {"side": "buy"},
        {"exchange": "mexc"},
        {"usd_cents": -1},
        {"ts": 5},
        {"symbol": ""},
        {"price": Decimal("-1")},
        {"margin": "cross"},
    ],
)
def test_invalid_events_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(InvalidEvent):
        sample(**change)


def test_from_fields_refuses_other_versions_and_missing_fields() -> None:
    fields = sample().to_fields()
    with pytest.raises(InvalidEvent):
        LiquidationEvent.from_fields({**fields, "v": "2"})
    del fields["usd"]
    with pytest.raises(InvalidEvent):
        LiquidationEvent.from_fields(fields)


def test_a_dust_liquidation_is_valid_at_zero_dollars() -> None:
    dust = sample(qty=Decimal("1E-9"), usd_cents=0)
    fields = dust.to_fields()
    assert fields["usd"] == "0.00"
    assert LiquidationEvent.from_fields(fields) == dust
    assert LiquidationEvent.from_fields({**fields, "usd": "-0.00"}) == dust
    for bad in ("-0.01", "0.001", "-1"):
        with pytest.raises(InvalidEvent):
            LiquidationEvent.from_fields({**fields, "usd": bad})


def test_a_venue_name_makes_the_id() -> None:
    one = make_venue_event_id("dydx", "BTC-USD", "fill-1")
    assert one == make_venue_event_id("dydx", "BTC-USD", "fill-1") and len(one) == 32
    assert one != make_venue_event_id("dydx", "BTC-USD", "fill-2")
    assert one != make_venue_event_id("kraken", "BTC-USD", "fill-1")
