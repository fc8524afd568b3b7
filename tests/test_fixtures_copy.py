"""The repository's copy of the exchange fixtures matches the team's reference copy."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, REFERENCE_FIXTURES

VENUES = ("binance", "okx", "bybit", "dydx", "kraken", "bitfinex")


def test_in_repo_fixtures_equal_the_reference() -> None:
    if not REFERENCE_FIXTURES.is_dir():
        pytest.skip(f"no reference fixtures at {REFERENCE_FIXTURES}")
    names = ["expected.json"] + [
        f"{venue}/{p.name}" for venue in VENUES for p in (REFERENCE_FIXTURES / venue).glob("*.json")
    ]
    assert len(names) > 40
    drift = [
        n for n in names if (FIXTURES / n).read_bytes() != (REFERENCE_FIXTURES / n).read_bytes()
    ]
    assert drift == []
