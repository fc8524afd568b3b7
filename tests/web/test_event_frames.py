"""The live reader's frames (`liqmon_web.event_frames`) against the definition: for any
entry, well formed or not, as Redis sends it or decoded, the frame is byte for byte
`event: liquidation` + `LiquidationEvent.to_json_dict(stream_id)`, and an entry the event
refuses (or whose JSON cannot be written) is skipped, counted and logged once."""

from __future__ import annotations

import logging
from typing import Any

import orjson
import pytest
from hypothesis import given, settings

from liqmon.event import InvalidEvent, LiquidationEvent
from liqmon.logs import LogOnce
from liqmon_web import event_frames
from liqmon_web.event_frames import encode_entries, encode_raw
from liqmon_web.filters import EventKey
from liqmon_web.stream_ids import parse_stream_id
from tests.entry_samples import collector_entry, odd_collector_entries, valid_events

SID = "1791565602127-3"
LOG = LogOnce(logging.getLogger("test"))


def reference(fields: dict[Any, Any]) -> tuple[bytes, EventKey] | None:
    """What the web sent before the quick path: the full event, its JSON, one frame."""
    try:
        event = LiquidationEvent.from_fields(fields)
        data = orjson.dumps(event.to_json_dict(SID))
    except (InvalidEvent, ValueError, TypeError):
        return None
    frame = b"event: liquidation\nid: " + SID.encode() + b"\ndata: " + data + b"\n\n"
    return frame, EventKey.of(event)


def check_both_paths(fields: dict[Any, Any]) -> None:
    want = reference(fields)
    flat = [x for pair in fields.items() for x in pair]
    for encoded, bad in (encode_raw([(SID, flat)], LOG), encode_entries([(SID, fields)], LOG)):
        if want is None:
            assert (encoded, bad) == ([], 1)
        else:
            assert bad == 0 and len(encoded) == 1
            assert (encoded[0].frame, encoded[0].key) == want
            assert encoded[0].sid == parse_stream_id(SID)


@settings(max_examples=400, deadline=None)
@given(valid_events())
def test_valid_events_frame_as_the_event_does(event: LiquidationEvent) -> None:
    check_both_paths(event.to_fields())


@settings(max_examples=600, deadline=None)
@given(odd_collector_entries())
def test_odd_entries_frame_or_fail_as_the_event_does(fields: dict[Any, Any]) -> None:
    check_both_paths(fields)


def test_the_collectors_shape_never_builds_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """The agreement above would hold trivially if every entry took the full path."""
    fields = collector_entry()
    want = reference(fields)

    def refuse(_fields: object) -> LiquidationEvent:
        raise AssertionError("the full parse was used")

    monkeypatch.setattr(event_frames.LiquidationEvent, "from_fields", refuse)
    flat = [x for pair in fields.items() for x in pair]
    encoded, bad = encode_raw([(SID, flat)], LOG)
    assert bad == 0 and (encoded[0].frame, encoded[0].key) == want


def test_malformed_entries_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    good = collector_entry(2)
    huge_recv = {**collector_entry(3), "recv_ts": str(2**64)}  # orjson cannot write it
    entries: list[tuple[str, list[str]]] = [
        ("1-1", ["v", "9"]),
        ("1-2", [x for pair in good.items() for x in pair]),
        ("1-3", ["v", "9"]),
        ("1-4", [x for pair in huge_recv.items() for x in pair]),
    ]
    with caplog.at_level(logging.WARNING):
        encoded, bad = encode_raw(entries, LogOnce(logging.getLogger("frames-test")))
    assert [str(e.sid) for e in encoded] == ["1-2"] and bad == 3
    skipped = [r for r in caplog.records if "malformed" in r.getMessage()]
    assert len(skipped) == 2  # one per kind of error, not one per entry
