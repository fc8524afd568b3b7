"""Every recorded Binance and OKX fixture parses to exactly the events expected.json lists."""

from __future__ import annotations

import pytest

from liqmon.collector.frames import parse
from liqmon_binance.parser import COINM, ForceOrderParser
from liqmon_okx.parser import LiquidationOrdersParser
from tests.collectors.fixtures import (
    as_expected,
    binance_fixtures,
    binance_product,
    coinm_specs,
    expected,
    fixture_text,
    okx_fixtures,
    okx_specs,
)

RECV = 1_800_000_000_000


def binance_parser(rel: str) -> ForceOrderParser:
    """COIN-M with its contract sizes; USDⓈ-M as before exchangeInfo loads (suffix rules)."""
    product = binance_product(rel)
    return ForceOrderParser(product, coinm_specs() if product == COINM else {})


def test_every_fixture_has_expectations() -> None:
    listed = {name for name in expected() if name.startswith(("binance/", "okx/"))}
    assert set(binance_fixtures()) | set(okx_fixtures()) == listed
    assert len(listed) >= 20


@pytest.mark.parametrize("rel", binance_fixtures())
def test_binance_fixture(rel: str) -> None:
    events = parse(binance_parser(rel), fixture_text(rel), RECV)
    assert [as_expected(e) for e in events] == expected()[rel]
    assert all(e.sampled and e.recv_ts == RECV for e in events)


@pytest.mark.parametrize("rel", okx_fixtures())
def test_okx_fixture(rel: str) -> None:
    parser = LiquidationOrdersParser(okx_specs())
    events = parse(parser, fixture_text(rel), RECV)
    assert [as_expected(e) for e in events] == expected()[rel]
    assert all(e.sampled for e in events)


def test_ids_are_deterministic_and_distinct() -> None:
    ids: list[str] = []
    for rel in binance_fixtures():
        parser = binance_parser(rel)
        first = [e.id for e in parse(parser, fixture_text(rel), RECV)]
        again = [e.id for e in parse(parser, fixture_text(rel), RECV + 5)]
        assert first == again
        ids += first
    okx = LiquidationOrdersParser(okx_specs())
    for rel in okx_fixtures():
        first = [e.id for e in parse(okx, fixture_text(rel), RECV)]
        assert first == [e.id for e in parse(okx, fixture_text(rel), RECV + 5)]
        ids += first
    assert (
        len(ids)
        == len(set(ids))
        == sum(len(v) for k, v in expected().items() if k.startswith(("binance/", "okx/")))
    )
