"""The event's texts take cheaper routes than `format(d, "f")` and `divmod`; the same text."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from liqmon.event import LiquidationEvent, canon, cents_to_str, plain_text


def reference_cents(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


@given(st.integers(min_value=-(10**16), max_value=10**16))
def test_cents_text_is_the_divmod_text(cents: int) -> None:
    assert cents_to_str(cents) == reference_cents(cents)


def test_cents_text_at_the_edges() -> None:
    for cents in (-101, -100, -99, -1, 0, 1, 9, 10, 99, 100, 101, 1000, 10**13):
        assert cents_to_str(cents) == reference_cents(cents)


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_plain_text_is_the_f_format(value: Decimal) -> None:
    assert plain_text(value) == format(value, "f")


def test_plain_text_of_exponent_forms() -> None:
    for text in ("1E+2", "1.0E+5", "1E-7", "0.0000012", "0.00000012", "13000", "5.000", "-0"):
        assert plain_text(Decimal(text)) == format(Decimal(text), "f")
    assert canon("1.0E+5") == "100000" and canon("1E-7") == "0.0000001"


def test_the_api_event_is_the_stream_fields_typed() -> None:
    """`to_json_dict` is built from `to_fields`: its keys, order and values as before."""
    event = LiquidationEvent(
        "0" * 32, "okx", "okx-swap", "linear", "BTC-USDT-SWAP", "BTC", "long",
        Decimal("1E+5"), "bankruptcy", Decimal("0.010"), 100005, 1796506479133,
        1796506479600, True,
    )  # fmt: skip
    expected = {
        "stream_id": "1-0", "v": 1, "id": "0" * 32, "exchange": "okx", "product": "okx-swap",
        "margin": "linear", "instrument": "BTC-USDT-SWAP", "symbol": "BTC", "side": "long",
        "price": "100000", "price_kind": "bankruptcy", "qty": "0.010", "usd": 1000.05,
        "ts": 1796506479133, "recv_ts": 1796506479600, "sampled": True,
    }  # fmt: skip
    assert list(event.to_json_dict("1-0").items()) == list(expected.items())
