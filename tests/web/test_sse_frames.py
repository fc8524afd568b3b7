"""The one SSE frame builder: what each kind of frame looks like on the wire."""

from __future__ import annotations

from liqmon_web.sse_frames import frame_template, sse_frame
from liqmon_web.stream_ids import StreamId


def test_event_id_and_data() -> None:
    frame = sse_frame("liquidation", "1-2", b'{"a":1}')
    assert frame == b'event: liquidation\nid: 1-2\ndata: {"a":1}\n\n'


def test_id_only_frame_moves_last_event_id_without_an_event() -> None:
    assert sse_frame(None, StreamId(5, 0), None) == b"id: 5-0\n\n"


def test_multiline_data_is_one_data_line_per_line() -> None:
    # A raw newline inside one `data:` line would end the field early and corrupt the event.
    assert sse_frame("alert", None, b"a\nb") == b"event: alert\ndata: a\ndata: b\n\n"


def test_frame_template_gives_sse_frame_bytes() -> None:
    cases = [("liquidation", "1-2", b'{"a":1}'), ("x", "18446744073709551615-0", b"")]
    for event, sid, data in cases:
        assert frame_template(event) % (sid.encode(), data) == sse_frame(event, sid, data)
