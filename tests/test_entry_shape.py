"""The collectors' entry shape (`liqmon.entry_shape`) against the full parse: whatever it
accepts, `LiquidationEvent.from_fields` accepts too, with the same values, and the texts it
passes on are the canonical ones the event writes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from liqmon.entry_shape import collector_shape
from liqmon.event import FIELDS, InvalidEvent, LiquidationEvent
from tests.entry_samples import collector_entry, odd_collector_entries, valid_events


def check_agrees(fields: dict[Any, Any]) -> None:
    values = [fields.get(name) for name in FIELDS]
    shape = collector_shape(values) if None not in values else None
    if shape is None:
        return
    try:
        event = LiquidationEvent.from_fields(fields)
    except InvalidEvent as exc:  # pragma: no cover - the failure this test looks for
        raise AssertionError(f"the quick shape accepted what the event refuses: {exc}") from exc
    assert shape == (event.ts, event.recv_ts, event.usd_cents)
    assert values[FIELDS.index("price")] == format(event.price, "f")
    assert values[FIELDS.index("qty")] == format(event.qty, "f")
    assert (values[FIELDS.index("sampled")] == "1") is event.sampled
    text_fields = ("id", "exchange", "product", "margin", "instrument", "symbol", "side")
    assert [fields[n] for n in text_fields] == [getattr(event, n) for n in text_fields]
    assert fields["price_kind"] == event.price_kind


@settings(max_examples=400, deadline=None)
@given(valid_events())
def test_valid_events_keep_their_values(event: LiquidationEvent) -> None:
    check_agrees(event.to_fields())


@settings(max_examples=600, deadline=None)
@given(odd_collector_entries())
def test_odd_entries_are_never_accepted_wrongly(fields: dict[Any, Any]) -> None:
    check_agrees(fields)


def test_the_collectors_shape_is_recognised() -> None:
    """The agreement above would hold trivially if nothing were accepted."""
    fields = collector_entry(cents=0)
    assert collector_shape(list(fields.values())) == (int(fields["ts"]), int(fields["recv_ts"]), 0)
    for odd in ({"usd": "1e2"}, {"price": "095000.5"}, {"qty": "1.3E-2"}):
        values = list({**fields, **odd}.values())
        assert collector_shape(values) is None  # valid, but the full path's
        LiquidationEvent.from_fields({**fields, **odd})
    assert collector_shape(list(fields.values())[:-1]) is None
