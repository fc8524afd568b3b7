"""Stream entries -> `event: liquidation` SSE frames, each entry encoded once per process.

The frame's data is the API's EVENT, `LiquidationEvent.to_json_dict(stream_id)`: that
method defines it. Parsing every entry into a full event first (`from_fields`: Decimal
parsing, the dataclass checks) was half of the web's CPU at crash-day rates, so:

- an entry in the collectors' own shape (`liqmon.entry_shape.collector_shape`, which the
  aggregator shares) is framed straight from its text values: its `price` and `qty` are
  already the canonical text `to_json_dict` writes, and the typed values (`usd`, `ts`,
  `recv_ts`, `sampled`) are what `from_fields` would have made of them;
- anything else goes through `from_fields` and `to_json_dict` as before, so a malformed
  entry is refused with the same error (skipped, counted, logged once by the caller).

tests/web/test_event_frames.py checks the two paths give the same bytes for any entry,
well formed or not. `encode_raw` takes entries as Redis sends them (the live reader reads
raw replies: redis-py's per-entry dict cost more than the rest of the read);
`encode_entries` takes a decoded client's (the replay's XRANGE pages).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from liqmon.consumer_group import Entry, RawEntry, entry_dict
from liqmon.entry_shape import FIELD_LIST, collector_shape
from liqmon.event import FIELDS, InvalidEvent, LiquidationEvent, json_event
from liqmon.logs import LogOnce
from liqmon_web.filters import EventKey
from liqmon_web.sse_frames import frame_template, sse_frame
from liqmon_web.stream_ids import StreamId, parse_stream_id

#: What a frame cannot be built from: a refused entry, or a value orjson cannot write
#: (an integer past 64 bits; its JSONEncodeError is a TypeError).
REFUSED = (InvalidEvent, ValueError, TypeError)
#: `sse_frame("liquidation", sid, data)` for orjson's one-line data.
_LIQUIDATION = frame_template("liquidation")
_dumps = orjson.dumps


class Encoded:
    """One stream entry, parsed and encoded once per process."""

    __slots__ = ("frame", "key", "sid")

    def __init__(self, sid: StreamId, key: EventKey, frame: bytes) -> None:
        self.sid = sid
        self.key = key
        self.frame = frame


def liquidation_frame(stream_id: str, event: LiquidationEvent) -> bytes:
    return sse_frame("liquidation", stream_id, orjson.dumps(event.to_json_dict(stream_id)))


def _shaped(stream_id: str, values: list[Any]) -> Encoded | None:
    """The frame of an entry in the collectors' shape (`values` in FIELDS order); None for
    any other entry. The dict is `to_json_dict`'s (`json_event`), from the entry's text.
    (One call per event read: the steps are the cheapest same-bytes forms; see
    `frame_template`, `parse_stream_id`.)"""
    shape = collector_shape(values)
    if shape is None:
        return None
    sid = parse_stream_id(stream_id)
    if sid is None:
        return None
    ts, recv_ts, cents = shape
    try:
        data = _dumps(json_event(stream_id, dict(zip(FIELDS, values, strict=True)), ts, recv_ts))
    except orjson.JSONEncodeError:  # the full path refuses it, and says why
        return None
    frame = _LIQUIDATION % (stream_id.encode(), data)
    return Encoded(sid, EventKey.make(values[6], values[2], values[7], cents, ts), frame)


def _full(stream_id: str, fields: dict[str, str], log_once: LogOnce) -> Encoded | None:
    """Any entry, through `LiquidationEvent`; None (logged once) when it is refused."""
    try:
        event = LiquidationEvent.from_fields(fields)
        frame = liquidation_frame(stream_id, event)
    except REFUSED as exc:
        log_once.warning(str(exc)[:60], "skipping malformed stream entry %s: %s", stream_id, exc)
        return None
    sid = parse_stream_id(stream_id)
    assert sid is not None  # Redis gave it
    return Encoded(sid, EventKey.of(event), frame)


def encode_raw(entries: list[RawEntry], log_once: LogOnce) -> tuple[list[Encoded], int]:
    """Entries as Redis sends them -> (frames, how many were malformed and skipped)."""
    out: list[Encoded] = []
    for stream_id, flat in entries:
        encoded = _shaped(stream_id, flat[1::2]) if flat[0::2] == FIELD_LIST else None
        if encoded is None:
            encoded = _full(stream_id, entry_dict(flat), log_once)
        if encoded is not None:
            out.append(encoded)
    return out, len(entries) - len(out)


def encode_entries(entries: Iterable[Entry], log_once: LogOnce) -> tuple[list[Encoded], int]:
    """The same for a decoded client's entries (field maps)."""
    out: list[Encoded] = []
    bad = 0
    for stream_id, fields in entries:
        try:
            values: list[Any] | None = list(map(fields.__getitem__, FIELDS))
        except KeyError:
            values = None
        encoded = _shaped(stream_id, values) if values is not None else None
        if encoded is None:
            encoded = _full(stream_id, fields, log_once)
        if encoded is None:
            bad += 1
        else:
            out.append(encoded)
    return out, bad
