"""`frames.plain`: the digits a Decimal is written with in OKX, HTX, Gate, BitMEX, ... frames."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from liqmon_sim.frames import plain


def _fixed_point(value: Decimal) -> str:
    """The definition: fixed-point notation, trailing fractional zeros dropped."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("82655.70", "82655.7"), ("100", "100"), ("1E+1", "10"), ("1.2E+3", "1200"),
        ("0.000001", "0.000001"), ("1E-7", "0.0000001"), ("-2.50E-8", "-0.000000025"),
        ("0E+2", "0"), ("0.000", "0"), ("-0", "-0"), ("5.00", "5"),
    ],
)  # fmt: skip
def test_no_exponent_and_no_trailing_zeros(text: str, expected: str):
    assert plain(Decimal(text)) == expected


def test_the_same_text_as_fixed_point_over_every_exponent():
    rng = random.Random(11)
    for _ in range(20_000):
        units = rng.randrange(0, 10 ** rng.randrange(1, 20)) * rng.choice((1, -1))
        value = Decimal(units).scaleb(rng.randrange(-20, 8))
        assert plain(value) == _fixed_point(value), value
