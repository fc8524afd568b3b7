"""Serialized summaries, shared by every request and every stream client, fresh within
one poll of the aggregator's change token.

The summary is the heaviest read (6 windows x totals, by-exchange splits, rankings,
largest) and the most requested (every dashboard). Each cached body remembers the
aggregator's change token (`ChangeToken`: the window generation, its `applied` counter
and its watermarks) read just before it. A request gets the cached bytes while the token
is unchanged (refreshed in the background after `web_summary_cache_ms`, since a
collector's outage flags the windows without the aggregator); a moved token means a read.
So an applied event shows up in /api/summary within one token poll (10 ms) plus at most
one push spacing (`web_summary_push_ms`, 20 ms: a changing summary costs at most one read
per spacing); between changes every request gets the same bytes. Concurrent misses share
one read (single flight): a burst of 1,000 requests costs one Redis round trip.

The token is polled by the summary feed (summary_feed.py) while the process is active (a
request makes it active); a request never waits for Redis on a cache hit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from redis.asyncio import Redis

from liqmon import views
from liqmon.keys import Keys
from liqmon.venues import EXCHANGES
from liqmon.windows import generation_from

#: How many `top` values are kept (a few are in use; never grow unbounded).
MAX_ENTRIES = 8
#: A body with an unchanged token is served up to this many `max_age`s old (refreshed in
#: the background meanwhile); older, the request reads.
STALE_FACTOR = 3
#: A token older than this (the feed polls at least 4 times a second while anyone
#: watches) makes a request start one background poll; the request itself never waits
#: for a token it has.
TOKEN_FRESH_S = 0.5


class ChangeToken(NamedTuple):
    """What moves whenever the aggregator changes the windows' contents: events applied,
    buckets evicted (the watermarks), a rebuild (the generation)."""

    generation: int
    applied: str
    watermarks: tuple[tuple[str, str], ...]


async def read_change_token(redis: Redis, keys: Keys, generation: int) -> ChangeToken:
    """One round trip: the live generation, and the `applied` counter and watermarks of
    `generation` (the caller's last known one; a rebuild changes the generation, so the
    token moves anyway and the next read uses the new one)."""
    pipe = redis.pipeline(transaction=False)
    pipe.get(keys.agg_generation)
    pipe.hget(keys.agg_stats(generation), "applied")
    pipe.hgetall(keys.agg_watermarks(generation))
    live, applied, marks = await pipe.execute()
    watermarks = tuple(sorted((str(k), str(v)) for k, v in marks.items()))
    return ChangeToken(generation_from(live), str(applied), watermarks)


class _Entry:
    __slots__ = ("at", "body", "token")

    def __init__(self, body: bytes, token: ChangeToken, at: float) -> None:
        self.body = body
        self.token = token
        self.at = at


class SummaryCache:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        max_age_ms: int,
        min_age_ms: int,
        collected: Sequence[str] = EXCHANGES,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._collected = tuple(collected)  # the venues completeness rests on
        self._max_age = max_age_ms / 1000
        self._min_age = min(min_age_ms, max_age_ms) / 1000
        self._entries: dict[int, _Entry] = {}
        self._inflight: dict[int, asyncio.Future[bytes]] = {}
        self._token: ChangeToken | None = None
        self._token_at = 0.0
        self._token_read: asyncio.Future[ChangeToken] | None = None
        self._refreshing: set[asyncio.Task[Any]] = set()
        self.requested_at = 0.0  # the last request, for the feed's "active" test
        self.reads = 0
        self.errors = 0

    # --- the change token -------------------------------------------------------------
    @property
    def token_at(self) -> float:
        """When the last token was read (monotonic s; 0: never)."""
        return self._token_at

    async def poll_token(self) -> ChangeToken:
        """Read the token now (concurrent callers share one read) and remember it."""
        if self._token_read is not None:
            return await asyncio.shield(self._token_read)
        future: asyncio.Future[ChangeToken] = asyncio.get_running_loop().create_future()
        self._token_read = future
        try:
            generation = self._token.generation if self._token is not None else 1
            token = await read_change_token(self._redis, self._keys, generation)
            self._token, self._token_at = token, time.monotonic()
            future.set_result(token)
            return token
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning if nobody waits
            raise
        finally:
            self._token_read = None

    async def current_token(self) -> ChangeToken:
        """The last token polled, without waiting for Redis (only the very first is
        awaited). A stale one (the feed was idle: nobody watched) starts a background
        poll, so the next request is fresh; this one gets at most one feed-idle period of
        staleness, never a Redis round trip in its latency."""
        if self._token is None:
            return await self.poll_token()
        if time.monotonic() - self._token_at >= TOKEN_FRESH_S and self._token_read is None:
            task = asyncio.create_task(self.poll_token(), name="web.summary-token")
            self._refreshing.add(task)
            task.add_done_callback(self._refreshed)
        return self._token

    # --- bodies ---------------------------------------------------------------------------
    async def get(self, top: int) -> bytes:
        """The summary JSON for `top`:
        - younger than the push spacing: the cached body (a changing summary costs at most
          one read per spacing, like the push);
        - the token unchanged: the cached body; older than `max_age`, one background read
          refreshes it (a collector's outage changes a summary without the aggregator,
          but no request waits for that), and older than `STALE_FACTOR * max_age` it is
          read now;
        - the token moved: read now (concurrent requests share the read)."""
        self.requested_at = time.monotonic()
        if self._max_age <= 0:
            return await self._read(top)
        entry = self._entries.get(top)
        if entry is not None:
            age = time.monotonic() - entry.at
            if age < self._min_age:
                return entry.body
            if age < STALE_FACTOR * self._max_age and entry.token == await self.current_token():
                if age >= self._max_age and top not in self._inflight:
                    task = asyncio.create_task(self._read(top), name="web.summary-refresh")
                    self._refreshing.add(task)
                    task.add_done_callback(self._refreshed)
                return entry.body
        return await self._read(top)

    def _refreshed(self, task: asyncio.Task[Any]) -> None:
        self._refreshing.discard(task)
        if not task.cancelled():
            task.exception()  # counted in `errors` by _read; the next request reads again

    async def close(self) -> None:
        for task in list(self._refreshing):
            task.cancel()
        await asyncio.gather(*self._refreshing, return_exceptions=True)

    async def refresh(self, top: int, token: ChangeToken) -> bytes:
        """Read now, whatever is cached (the feed, right after polling `token`)."""
        return await self._read(top, token)

    async def _read(self, top: int, token: ChangeToken | None = None) -> bytes:
        """The token (unless the caller just read it), then one summary read and its
        serialization; concurrent callers for `top` share it. Token first: the body is at
        least as new as its token, so a later token equal to it proves nothing changed."""
        pending = self._inflight.get(top)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[top] = future
        try:
            if token is None:
                token = await self.poll_token()
            summary: dict[str, Any] = await views.read_summary(
                self._redis,
                self._keys,
                top=top,
                collected=self._collected,
                generation=token.generation,  # just read with the token: no second GET
            )
            body = orjson.dumps(summary)
            self.reads += 1
            self._entries[top] = _Entry(body, token, time.monotonic())
            if len(self._entries) > MAX_ENTRIES:
                oldest = min(self._entries, key=lambda k: self._entries[k].at)
                del self._entries[oldest]
            future.set_result(body)
            return body
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            self.errors += 1
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._inflight[top]

    def cached_token(self, top: int) -> ChangeToken | None:
        entry = self._entries.get(top)
        return entry.token if entry is not None else None
