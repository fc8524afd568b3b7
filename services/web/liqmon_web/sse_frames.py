"""Server-Sent Events frames: the one place their bytes are built.

Every frame the web sends goes through `sse_frame` (or the two fixed lines below it), so
the wire format (text/event-stream, UTF-8, `\\n` line ends, a blank line ending each frame)
is written once. A new kind of event is one call: `sse_frame("alert", sid, data)`.

Frames are built once per process and shared by every client (broadcaster.py), so this
is plain bytes concatenation, no per-client work.
"""

from __future__ import annotations

from liqmon_web.stream_ids import StreamId

KEEPALIVE = b": keep-alive\n\n"


def sse_frame(event: str | None, sid: StreamId | str | None, data: bytes | None) -> bytes:
    """One frame: optional `event:`, `id:` and `data:` lines, then the blank line.

    `data` is one line of JSON in practice (orjson never writes a raw newline); a payload
    with newlines is still sent correctly, one `data:` line per line. A frame with only an
    `id` dispatches nothing in the browser but moves its Last-Event-ID.
    """
    if event is not None and sid is not None and data is not None and b"\n" not in data:
        # the common frame (one per event), in one step: the same bytes as the parts below
        return b"event: %b\nid: %b\ndata: %b\n\n" % (event.encode(), str(sid).encode(), data)
    parts: list[bytes] = []
    if event is not None:
        parts.append(b"event: " + event.encode() + b"\n")
    if sid is not None:
        parts.append(b"id: " + str(sid).encode() + b"\n")
    if data is not None:
        if b"\n" in data:
            parts.extend(b"data: " + line + b"\n" for line in data.split(b"\n"))
        else:
            parts.append(b"data: " + data + b"\n")
    parts.append(b"\n")
    return b"".join(parts)


def frame_template(event: str) -> bytes:
    """`sse_frame(event, sid, data)` as a %-template of (sid as bytes, data) for data of one
    line (orjson's output): the live reader frames every event read through it, without
    the checks and encodes `sse_frame` repeats per call (tests/web/test_sse_frames.py
    compares the two)."""
    return b"event: " + event.encode() + b"\nid: %b\ndata: %b\n\n"


def retry_frame(ms: int) -> bytes:
    """The reconnect delay hint, sent once at the start of a stream."""
    return b"retry: %d\n\n" % ms
