"""Redis stream ids and stream replies, as the web service reads them.

The event stream's ids are the web's cursors: `/api/liquidations` pages with them
(`cursor`, `next`), `/api/stream` sends each entry's id as the SSE `id` and resumes after
`Last-Event-ID`. They are compared as `(ms, seq)` integer tuples, never as strings
(`"9-0" > "10-0"` as text).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from liqmon.consumer_group import Entry

_STREAM_ID = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")
U64_MAX = 2**64 - 1
#: `tuple.__new__` builds a StreamId without the NamedTuple's Python-level `__new__`: the
#: live reader parses one id per event read.
_new = tuple.__new__


class StreamId(NamedTuple):
    ms: int
    seq: int

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


def parse_stream_id(text: str) -> StreamId | None:
    """`"1700000000000-3"` -> StreamId; None when it is not a valid Redis stream id."""
    # An id as Redis writes it (one per event read) needs no regex: ASCII digits, one "-".
    head, _, tail = text.partition("-")
    if len(head) <= 20 and len(tail) <= 20 and head.isdigit() and tail.isdigit() and text.isascii():
        ms, seq = int(head), int(tail)
        return _new(StreamId, (ms, seq)) if ms <= U64_MAX and seq <= U64_MAX else None
    match = _STREAM_ID.match(text.strip())
    if match is None:
        return None
    ms, seq = int(match.group(1)), int(match.group(2) or 0)
    if ms > U64_MAX or seq > U64_MAX:
        return None
    return StreamId(ms, seq)


def as_entries(reply: Any) -> list[Entry]:
    """XRANGE/XREVRANGE reply of a decoded client, typed (redis-py types it loosely)."""
    entries: list[Entry] = reply or []
    return entries
