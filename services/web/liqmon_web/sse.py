"""One SSE connection: optional replay from `Last-Event-ID`, then the live feed.

Wire format (text/event-stream, UTF-8):

    retry: 2000                       first, once: the reconnect delay hint
    event: liquidation                one per event; `id` is the Redis stream id
    id: 1732780000123-0
    data: {EVENT JSON}
    event: summary                    when the totals change (<= 50/s), else every second;
                                      same JSON as GET /api/summary
    data: {...}
    event: reset                      the resume id is older than the stream's retention
    id: 1732780001000-0               (unknown, or too long a replay): the rows shown may
    data: {"reason": "...", "first_id": "..."}   miss events; delivery continues after `id`
    id: 1732780000999-0               an id with no data: advances a filtered client's
                                      Last-Event-ID past events its filter skipped
    : keep-alive                      when nothing else was sent for web_sse_keepalive_s

Resume without gap or duplicate, and why it is race-free:
1. Replay (not yet subscribed): XRANGE (cursor .. + in pages, sending matches, until a
   short page. This can be long; no live queue fills up meanwhile.
2. Subscribe to the broadcaster. From now on every batch the reader publishes is queued.
3. Catch-up: XRANGE (cursor .. + again. Whatever the reader had already read before step 2
   is in the stream, so steps 1+3 cover everything up to the subscription point.
4. Live: queued batches are sent, skipping every entry whose id <= the last id sent.
   Stream ids only grow, so that comparison removes exactly the overlap of 3 and 4.
Nothing here looks at event ids: the stream carries each liquidation once within the
horizon docs/EVENTS.md states, so a stream entry is an event. What this module does keep
is delivery by stream id: replay, catch-up and the live queue overlap, and comparing
stream ids is what sends each entry exactly once across them (and across reconnects).

Ending: the writer stops when the client disconnects even if its cancellation is lost
(`_end_tasks` explains how that happens), and the client's slot is released in a
`finally` around the whole response, whatever happened.

Why a hand-written ASGI response instead of FastAPI's native `EventSourceResponse`: the
native path builds a pydantic `ServerSentEvent` per item and moves each item through two
memory streams and a timeout scope, per client. Here the frames are bytes encoded once
per process (broadcaster.py) and a client's pending batches go out in ONE `send` call,
which is what lets one process feed 1,000 clients. Headers follow the native ones
(`Cache-Control: no-cache`, `X-Accel-Buffering: no`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextvars import ContextVar
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from liqmon.logs import LogOnce
from liqmon_web.broadcaster import Batch, Broadcaster, Subscriber, Ticket
from liqmon_web.event_frames import encode_entries
from liqmon_web.filters import EventFilter
from liqmon_web.sse_frames import KEEPALIVE, retry_frame, sse_frame
from liqmon_web.stream_ids import StreamId, as_entries, parse_stream_id

logger = logging.getLogger(__name__)

#: Set in a request's task when its response is abandoned on purpose: a stalled client's
#: socket cannot take the body's end. uvicorn then closes the connection, which is what
#: we want, and logs "ASGI callable returned without completing response" as an ERROR,
#: which it is not: `AbandonedResponseFilter` drops that record for such a task only
#: (uvicorn logs it in the task that ran the app, right after the app returns).
ABANDONED: ContextVar[bool] = ContextVar("liqmon_sse_abandoned", default=False)
_INCOMPLETE = "ASGI callable returned without completing response"


class AbandonedResponseFilter(logging.Filter):
    """For uvicorn's error logger: see `ABANDONED`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (ABANDONED.get() and record.getMessage().startswith(_INCOMPLETE))


_log_once = LogOnce(logger)

REPLAY_PAGE = 500
END_ATTEMPTS = 5
END_WAIT_S = 1.0
HEADERS = {
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "X-Content-Type-Options": "nosniff",
}


def reset_frame(reason: str, first_id: str | None, resume_id: StreamId | None) -> bytes:
    return sse_frame("reset", resume_id, orjson.dumps({"reason": reason, "first_id": first_id}))


async def _end_tasks(*tasks: asyncio.Task[None]) -> None:
    """Cancel a connection's tasks and wait for them, bounded.

    One `cancel()` is not enough: redis-py writes each command under `asyncio.wait_for`,
    and Python 3.11's `wait_for` returns the result instead of raising when the cancel
    lands just as the write completes, so the CancelledError is lost and the writer used
    to go on into `_live` and wait there forever (keeping its client slot). The writer
    also stops on `_ended()`; here it is re-cancelled until it is gone, and never awaited
    without a bound.
    """
    pending = set(tasks)
    for _ in range(END_ATTEMPTS):
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=END_WAIT_S)
        if not pending:
            return
    logger.warning("%d stream task(s) did not end when cancelled", len(pending))


class SseResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        broadcaster: Broadcaster,
        ticket: Ticket,
        flt: EventFilter,
        resume_from: StreamId | None,
    ) -> None:
        super().__init__(content=None, media_type=self.media_type, headers=HEADERS)
        # an endless body: no Content-Length (Response adds "0" for an empty body)
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.broadcaster = broadcaster
        self.ticket = ticket
        self.filter = flt
        self.resume_from = resume_from
        self.cursor: StreamId | None = resume_from  # the newest id sent (or skipped)
        self._id_behind = False  # entries after the last sent id were skipped by the filter
        self._gone = False  # the client went away (or the response is ending)
        self._sub: Subscriber | None = None
        self.settings = broadcaster.settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            writer = asyncio.create_task(self._stream(send), name="sse.writer")
            watcher = asyncio.create_task(self._wait_disconnect(receive), name="sse.watch")
            try:
                await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._hang_up("done")
                await _end_tasks(writer, watcher)
            if not writer.cancelled() and writer.done() and writer.exception() is not None:
                logger.error("stream writer failed", exc_info=writer.exception())
                return
            if not watcher.done() or watcher.cancelled():  # the client is still there
                # End the body properly. A stalled socket cannot take even this (the slow
                # client just dropped): give up and let uvicorn close the connection.
                try:
                    await asyncio.wait_for(
                        send({"type": "http.response.body", "body": b"", "more_body": False}), 1.0
                    )
                except (TimeoutError, OSError):
                    ABANDONED.set(True)
                    logger.info("stream client's stalled socket closed without the body's end")
        finally:
            self.ticket.release()

    def _hang_up(self, reason: str) -> None:
        """End the writer without relying on cancellation alone (see `_end_tasks`)."""
        self._gone = True
        if self._sub is not None:
            self._sub.close(reason)

    def _ended(self) -> bool:
        """True once the writer must stop: disconnected, closed, or a cancel was asked for
        (`cancelling()` stays up even when a library swallowed the CancelledError)."""
        task = asyncio.current_task()
        return self._gone or (task is not None and task.cancelling() > 0)

    @staticmethod
    async def _wait_disconnect(receive: Receive) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    async def _send(self, send: Send, body: bytes) -> None:
        await send({"type": "http.response.body", "body": body, "more_body": True})

    async def _stream(self, send: Send) -> None:
        b = self.broadcaster
        await self._send(send, retry_frame(self.settings.web_sse_retry_ms))
        if self.resume_from is not None:
            try:
                await self._replay(send, subscribed=False)
            except RedisError as exc:
                _log_once.warning("replay", "stream replay failed: %s", exc)
                return  # the client retries with the same Last-Event-ID
        if self._ended():
            return
        sub = self._sub = b.subscribe(self.filter)
        sub.task = asyncio.current_task()  # cancelled by the broadcaster if it stalls
        try:
            if self.resume_from is not None:
                try:
                    await self._replay(send, subscribed=True)
                except RedisError as exc:
                    # Continuing live would leave a gap; end the stream instead, and the
                    # client resumes from the last id it got.
                    _log_once.warning("catch-up", "stream catch-up failed: %s", exc)
                    return
            await self._live(send, sub)
        finally:
            b.unsubscribe(sub)

    async def _replay(self, send: Send, *, subscribed: bool) -> None:
        """Send stream entries after `self.cursor`, page by page, until a short page."""
        redis: Redis = self.broadcaster.redis
        key = self.broadcaster.keys.events
        if not subscribed:
            await self._check_retention(send, redis, key)
        scanned = 0
        while (
            self.cursor is not None and not self.broadcaster.stopping.is_set() and not self._ended()
        ):
            page = as_entries(
                await redis.xrange(key, min=f"({self.cursor}", max="+", count=REPLAY_PAGE)
            )
            if not page:
                return
            encoded, _ = encode_entries(page, _log_once)
            frames = [e.frame for e in encoded if self.filter.matches(e.key)]
            last = parse_stream_id(str(page[-1][0]))
            assert last is not None
            self.cursor = last
            body = b"".join(frames)
            if not frames or encoded[-1].frame is not frames[-1]:
                body += sse_frame(None, last, None)
            await self._send(send, body)
            scanned += len(page)
            if len(page) < REPLAY_PAGE:
                return
            if scanned >= self.settings.web_sse_max_replay and not subscribed:
                info = await self._stream_info(redis, key)
                await self._reset(send, "replay too long", info)
                return

    @staticmethod
    async def _stream_info(redis: Redis, key: str) -> dict[str, Any]:
        try:
            info: dict[str, Any] = await redis.xinfo_stream(key)
        except ResponseError:  # no stream at all
            info = {}
        return info

    async def _reset(self, send: Send, reason: str, info: dict[str, Any]) -> None:
        """Send `reset`, carrying the stream's newest id as the event id, and continue from
        there: the client's Last-Event-ID then marks a point the server can resume from."""
        first = info.get("first-entry")
        tip = parse_stream_id(str(info.get("last-generated-id", "0-0")))
        self.cursor = tip if tip is not None and tip > StreamId(0, 0) else None
        await self._send(send, reset_frame(reason, str(first[0]) if first else None, self.cursor))

    async def _check_retention(self, send: Send, redis: Redis, key: str) -> None:
        """Send `reset` (and move the cursor to the stream's tip) when entries after the
        resume id may be gone."""
        assert self.cursor is not None
        info = await self._stream_info(redis, key)
        first = info.get("first-entry")
        first_sid = parse_stream_id(str(first[0])) if first else None
        last_gen = parse_stream_id(str(info.get("last-generated-id", "0-0"))) or StreamId(0, 0)
        if self.cursor > last_gen:
            reason = "unknown id (newer than the stream)"
        elif first_sid is not None and self.cursor < first_sid:
            # Retention trims from the head; entries between the id and the first one kept
            # may have been trimmed. (Conservative: the id of the very last trimmed entry
            # also gets a reset, though it missed nothing.)
            reason = "older than the retained stream"
        elif first_sid is None and self.cursor < last_gen:
            reason = "older than the retained stream (now empty)"
        else:
            return
        await self._reset(send, reason, info)

    def _render(self, batches: list[Batch]) -> list[bytes]:
        """Frames of the queued batches this client has not seen and wants."""
        out: list[bytes] = []
        flt, cursor = self.filter, self.cursor
        for batch in batches:
            if cursor is not None and batch.last <= cursor:
                continue  # wholly sent during catch-up
            entries = batch.entries
            fresh = cursor is None or (bool(entries) and entries[0].sid > cursor)
            if flt.is_empty and fresh:
                if entries:
                    out.append(batch.blob)  # the shared, joined-once bytes
                    self._id_behind = False
            else:
                for entry in entries:
                    if (cursor is None or entry.sid > cursor) and flt.matches(entry.key):
                        out.append(entry.frame)
                        self._id_behind = False
                    else:
                        self._id_behind = True
            cursor = batch.last
        self.cursor = cursor
        return out

    async def _live(self, send: Send, sub: Subscriber) -> None:
        # A plain Event wait, no timeout: asyncio.wait_for would create a Task per wake-up,
        # per client. The broadcaster's one-second tick asks for keep-alives instead.
        while sub.closed is None and not self._ended():
            await sub.wake.wait()
            summary, batches, keepalive = sub.take()
            chunks = self._render(batches)
            others = sub.take_alerts()
            if summary is not None:
                others.append(summary)
            if keepalive and not chunks and not others:
                others.append(KEEPALIVE)
            if chunks or others:
                if self._id_behind and self.cursor is not None:
                    # Filtered-out entries: move the client's Last-Event-ID past them so a
                    # resume does not rescan them (an id-only block dispatches nothing).
                    # Right after the events: a tick's write may carry a summary too.
                    chunks.append(sse_frame(None, self.cursor, None))
                    self._id_behind = False
                await self._send(send, b"".join(chunks + others))
                sub.last_write = time.monotonic()
