"""`make_event`, the collectors' constructor: the very event `LiquidationEvent(...)` builds,
refused with the very same `InvalidEvent` (it only skips the dataclass's slow field stores)."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from decimal import Decimal

import pytest

from liqmon.event import InvalidEvent, LiquidationEvent, make_event

GOOD: dict[str, object] = {
    "id": "0" * 32,
    "exchange": "bybit",
    "product": "bybit-inverse",
    "margin": "inverse",
    "instrument": "BTCUSD",
    "symbol": "BTC",
    "side": "short",
    "price": Decimal("79200.2"),
    "price_kind": "bankruptcy",
    "qty": Decimal("0.41930987"),
    "usd_cents": 3320900,
    "ts": 1796506479133,
    "recv_ts": 1796506479600,
    "sampled": False,
}


def test_its_parameters_are_the_fields_in_order() -> None:
    names = [f.name for f in dataclasses.fields(LiquidationEvent)]
    assert list(inspect.signature(make_event).parameters) == names


def test_it_builds_the_same_frozen_event() -> None:
    made = make_event(*GOOD.values())  # type: ignore[arg-type]
    built = LiquidationEvent(**GOOD)  # type: ignore[arg-type]
    assert type(made) is LiquidationEvent
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert made.to_fields() == built.to_fields()
    assert copy.copy(made) == made and pickle.loads(pickle.dumps(made)) == made
    assert dataclasses.replace(made, ts=made.ts + 1).ts == made.ts + 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.ts = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    "change",
    [
        {"exchange": "nope"}, {"product": "okx-swap"}, {"margin": "quanto"},
        {"side": "flat"}, {"price_kind": "mark"}, {"symbol": ""}, {"instrument": "X" * 65},
        {"id": ""}, {"price": Decimal(0)}, {"qty": Decimal("NaN")}, {"usd_cents": -1},
        {"usd_cents": 10**13 + 1}, {"ts": 0},
    ],
)  # fmt: skip
def test_it_refuses_what_the_dataclass_refuses(change: dict[str, object]) -> None:
    values = {**GOOD, **change}
    with pytest.raises(InvalidEvent) as built:
        LiquidationEvent(**values)  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent) as made:
        make_event(*values.values())  # type: ignore[arg-type]
    assert str(made.value) == str(built.value)
