"""Serialized summaries, shared by every request and every stream client, fresh within
one poll of the aggregator's change counter.

The summary is the heaviest read (6 windows x totals, by-exchange splits, rankings,
largest) and the most requested (every dashboard). Each cached body remembers the
aggregator's change token (`ChangeToken`: the window generation and its `applied`
counter) read just before it. A request is served the cached bytes while the token is
unchanged and the body is younger than `web_summary_cache_ms` (time alone changes a
summary too: windows slide, a collector's outage flags them); otherwise it is read again.
So a new event shows up in /api/summary at most one push spacing (`web_summary_push_ms`,
50 ms) plus one token poll after the aggregator applied it, a changing summary costs at
most one read per spacing, and between changes every request gets the same bytes. Concurrent misses
share one read (single flight): a burst of 1,000 requests costs one Redis round trip.

The token is polled by the summary feed (summary_feed.py) while the process is active,
and read here (one read shared by concurrent requests) when that poll is over 10 ms old.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, NamedTuple

import orjson
from redis.asyncio import Redis

from liqmon import views
from liqmon.keys import Keys

#: How many `top` values are kept (a few are in use; never grow unbounded).
MAX_ENTRIES = 8
#: A token polled this recently is used as is; older, a request reads it (shared).
TOKEN_FRESH_S = 0.01


class ChangeToken(NamedTuple):
    """What moves whenever the aggregator changes the windows' contents."""

    generation: int
    applied: int


async def read_change_token(redis: Redis, keys: Keys, generation: int) -> ChangeToken:
    """One round trip: the live generation and the `applied` counter of `generation` (the
    caller's last known one; a rebuild changes the generation, so the token moves anyway
    and the next read uses the new one)."""
    pipe = redis.pipeline(transaction=False)
    pipe.get(keys.agg_generation)
    pipe.hget(keys.agg_stats(generation), "applied")
    live, applied = await pipe.execute()
    return ChangeToken(int(live) if live is not None else 1, int(applied or 0))


class _Entry:
    __slots__ = ("at", "body", "token")

    def __init__(self, body: bytes, token: ChangeToken, at: float) -> None:
        self.body = body
        self.token = token
        self.at = at


class SummaryCache:
    def __init__(self, redis: Redis, keys: Keys, max_age_ms: int, min_age_ms: int) -> None:
        self._redis = redis
        self._keys = keys
        self._max_age = max_age_ms / 1000
        self._min_age = min(min_age_ms, max_age_ms) / 1000
        self._entries: dict[int, _Entry] = {}
        self._inflight: dict[int, asyncio.Future[bytes]] = {}
        self._token: ChangeToken | None = None
        self._token_at = 0.0
        self._token_read: asyncio.Future[ChangeToken] | None = None
        self.requested_at = 0.0  # the last request, for the feed's "active" test
        self.reads = 0
        self.errors = 0

    # --- the change token -------------------------------------------------------------
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
        """The token as of at most `TOKEN_FRESH_S` ago (read now if older)."""
        if self._token is not None and time.monotonic() - self._token_at < TOKEN_FRESH_S:
            return self._token
        return await self.poll_token()

    # --- bodies ---------------------------------------------------------------------------
    async def get(self, top: int) -> bytes:
        """The summary JSON for `top`: the cached body while it is younger than the push
        spacing (so a changing summary costs at most one read per spacing, like the push),
        or while the token is unchanged and it is younger than `max_age`; else read now."""
        self.requested_at = time.monotonic()
        if self._max_age <= 0:
            return await self._read(top)
        entry = self._entries.get(top)
        if entry is not None:
            age = time.monotonic() - entry.at
            if age < self._min_age:
                return entry.body
            if age < self._max_age and entry.token == await self.current_token():
                return entry.body
        return await self._read(top)

    async def refresh(self, top: int) -> bytes:
        """Read now (the feed calls this when the token moved), whatever is cached."""
        return await self._read(top)

    async def _read(self, top: int) -> bytes:
        """The token, then one summary read + serialization; concurrent callers for `top`
        share it. Token first: the body is at least as new as its token, so a later token
        that equals it proves nothing changed since."""
        pending = self._inflight.get(top)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[top] = future
        try:
            token = await self.poll_token()
            summary: dict[str, Any] = await views.read_summary(self._redis, self._keys, top=top)
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
