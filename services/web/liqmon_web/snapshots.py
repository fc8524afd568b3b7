"""Serialized read-model snapshots, shared by every request and every stream client.

The summary is the heaviest read (6 windows x totals, by-exchange splits, rankings,
largest) and the most requested (every dashboard, every second). It is read and
serialized with orjson at most once per `web_summary_cache_ms` per `top` value; all
requests in between get the same bytes. Concurrent misses share one read (single
flight), so a burst of 1,000 requests costs one Redis round trip, not 1,000; and a
slightly stale entry is served while one background read refreshes it
(stale-while-revalidate), so requests never queue behind the read.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from redis.asyncio import Redis

from liqmon import views
from liqmon.keys import Keys
from liqmon_web.sse_frames import sse_frame

#: A cached summary up to this many max-ages old is served while a refresh runs.
STALE_FACTOR = 3


class _Entry:
    __slots__ = ("at", "body")

    def __init__(self, body: bytes, at: float) -> None:
        self.body = body
        self.at = at


class SummaryCache:
    def __init__(self, redis: Redis, keys: Keys, max_age_ms: int) -> None:
        self._redis = redis
        self._keys = keys
        self._max_age = max_age_ms / 1000
        self._entries: dict[int, _Entry] = {}
        self._inflight: dict[int, asyncio.Future[bytes]] = {}
        self._frame: _Entry | None = None
        self._refreshing: set[asyncio.Task[bytes]] = set()
        self.reads = 0
        self.errors = 0

    async def _read(self, top: int) -> bytes:
        """One Redis read + serialization; concurrent callers for `top` share it."""
        pending = self._inflight.get(top)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[top] = future
        try:
            summary: dict[str, Any] = await views.read_summary(self._redis, self._keys, top=top)
            body = orjson.dumps(summary)
            self.reads += 1
            self._entries[top] = _Entry(body, time.monotonic())
            if len(self._entries) > 8:  # a few `top` values in use; never grow unbounded
                oldest = min(self._entries, key=lambda k: self._entries[k].at)
                del self._entries[oldest]
            future.set_result(body)
            return body
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning if nobody waits
            raise
        finally:
            del self._inflight[top]

    async def get(self, top: int) -> bytes:
        """The summary JSON for `top`: fresh if younger than `max_age`; if younger than
        `STALE_FACTOR * max_age`, returned at once while one background read refreshes
        it (so no request waits for the read); else read now."""
        entry = self._entries.get(top)
        if entry is not None:
            age = time.monotonic() - entry.at
            if age < self._max_age:
                return entry.body
            if age < self._max_age * STALE_FACTOR:
                if top not in self._inflight:
                    task = asyncio.create_task(self._read(top), name="web.summary-refresh")
                    self._refreshing.add(task)
                    task.add_done_callback(self._refreshed)
                return entry.body
        return await self._read(top)

    def _refreshed(self, task: asyncio.Task[bytes]) -> None:
        self._refreshing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors += 1  # the next request reads again (and reports the error)

    async def close(self) -> None:
        for task in list(self._refreshing):
            task.cancel()
        await asyncio.gather(*self._refreshing, return_exceptions=True)

    async def refresh_frame(self, top: int) -> bytes:
        """Force a fresh read and return it as an SSE `summary` frame (kept as latest)."""
        body = await self._read(top)
        frame = sse_frame(b"summary", None, body)
        self._frame = _Entry(frame, time.monotonic())
        return frame

    def latest_frame(self, max_age_ms: int) -> bytes | None:
        if self._frame is None or time.monotonic() - self._frame.at > max_age_ms / 1000:
            return None
        return self._frame.body
