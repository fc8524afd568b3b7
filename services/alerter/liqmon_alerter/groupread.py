"""At-least-once reading of one stream through the `alerter` consumer group.

The alerter reads two kinds of stream this way: the event stream (`liq:v1:events`) and
each channel's outbox. The loop is the aggregator's (docs/ARCHITECTURE.md § Aggregator):
- our own pending entries first (`0`, paged), after a start, an error, and every janitor
  period (entries left pending on purpose — a delivery still leased by another owner —
  are looked at again then);
- every `janitor_ms`, XAUTOCLAIM entries idle longer than `claim_idle_ms` on any consumer
  (a dead process's), handled like our own;
- then new entries (`>`), blocking on a client whose socket timeout exceeds the BLOCK,
  interrupted by the stop event (what it may have taken stays in our PEL).
Handlers make processing idempotent; this module only guarantees nothing is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from liqmon.backoff import Backoff
from liqmon.keys import ALERTER_GROUP
from liqmon.runtime import unless_stopped

logger = logging.getLogger(__name__)

Entry = tuple[str, dict[str, str]]
Handler = Callable[[list[Entry]], Awaitable[None]]
TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError, ResponseError)


async def ensure_group(redis: Redis, stream: str, start_id: str) -> None:
    """Create the group (and the stream) at `start_id`; an existing group is kept."""
    try:
        await redis.xgroup_create(stream, ALERTER_GROUP, id=start_id, mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


@dataclass
class GroupReader:
    redis: Redis  # commands
    reader: Redis  # blocking reads (socket timeout > block)
    stream: str
    consumer: str
    batch: int
    block_ms: int
    claim_idle_ms: int
    janitor_ms: int
    start_id: str = "0"  # where the group is (re)created if it vanished

    async def _read(self, client: Redis, after: str, block: int | None) -> list[Entry]:
        reply = await client.xreadgroup(
            ALERTER_GROUP, self.consumer, {self.stream: after}, count=self.batch, block=block
        )
        return _entries(reply)

    async def _history(self, handle: Handler) -> None:
        after = "0"
        while entries := await self._read(self.redis, after, None):
            await handle(entries)
            after = entries[-1][0]

    async def _claim_idle(self, handle: Handler) -> None:
        cursor = "0-0"
        for _ in range(1000):
            reply: Any = await self.redis.xautoclaim(
                self.stream,
                ALERTER_GROUP,
                self.consumer,
                self.claim_idle_ms,
                start_id=cursor,
                count=self.batch,
            )
            cursor = str(reply[0])
            entries = [(str(sid), fields or {}) for sid, fields in reply[1]]
            if entries:
                logger.info("claimed %d idle entries of %s", len(entries), self.stream)
                await handle(entries)
            if cursor in ("0-0", "0"):
                return

    async def _new_or_stop(self, stop: asyncio.Event) -> list[Entry]:
        read = self._read(self.reader, ">", self.block_ms)
        return await unless_stopped(read, stop, [], TRANSIENT)

    async def run(self, stop: asyncio.Event, handle: Handler) -> None:
        history, next_janitor = True, 0.0
        backoff = Backoff(0.2, 5.0, jitter=0.5)
        while not stop.is_set():
            try:
                if time.monotonic() >= next_janitor:
                    next_janitor = time.monotonic() + self.janitor_ms / 1000
                    await self._claim_idle(handle)
                    history = True
                if history:
                    await self._history(handle)
                    history = False
                entries = await self._new_or_stop(stop)
                if entries:
                    await handle(entries)
                backoff.reset()
            except TRANSIENT as exc:
                history = True
                if "NOGROUP" in str(exc):  # the stream was deleted: start again
                    with contextlib.suppress(*TRANSIENT):
                        await ensure_group(self.redis, self.stream, self.start_id)
                delay = backoff.next()
                logger.warning("%s: read error (%s); retrying in %.1fs", self.stream, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)


def _entries(reply: Any) -> list[Entry]:
    out: list[Entry] = []
    for _stream, items in reply or []:
        out += [(str(sid), fields or {}) for sid, fields in items]
    return out
