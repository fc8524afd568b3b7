"""At-least-once reading of one stream through a consumer group.

The aggregator (`aggregator` group on the event stream) and the alerter (`alerter` group on
the event stream and on each channel's outbox) read the same way:
- our own pending entries first (`0`, paged), after a start, an error and
  every janitor period (entries left pending on purpose are looked at again then);
- every `janitor_ms`, XAUTOCLAIM entries idle longer than `claim_idle_ms` on any consumer
  (a dead process's), handled like our own;
- then new entries (`>`), blocking on a client whose socket timeout exceeds the BLOCK,
  interrupted by the stop event (what it may have taken stays in our PEL).
`GroupMember` does each step; `GroupReader` is the loop over them (the aggregator
runs its own loop over the same steps, pipelined one batch ahead). Handlers make
processing idempotent; this module only guarantees nothing is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from liqmon.backoff import Backoff
from liqmon.runtime import unless_stopped, wait_or_stop

logger = logging.getLogger(__name__)

#: One stream entry of a decoded client: (stream id, field map; empty once trimmed).
Entry = tuple[str, dict[str, str]]
#: The same entry as Redis sends it: (stream id, `[field, value, field, value, …]`).
#: `GroupMember` reads replies raw: redis-py's per-entry dict costs more than the rest of
#: reading, and the aggregator's hot path needs none (`GroupReader` builds the dicts).
RawEntry = tuple[str, list[str]]
Handler = Callable[[list[Entry]], Awaitable[None]]
#: Errors a read retries after a backoff (Redis unreachable or slow).
TRANSIENT = (RedisConnectionError, RedisTimeoutError, OSError)
#: XAUTOCLAIM pages looked at per janitor pass at most (a bound, not a tuning knob).
MAX_CLAIM_PAGES = 1000


async def ensure_group(redis: Redis, stream: str, group: str, start_id: str) -> None:
    """Create the group (and the stream) at `start_id`; an existing group is kept."""
    try:
        await redis.xgroup_create(stream, group, id=start_id, mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def entry_dict(flat: list[str]) -> dict[str, str]:
    """`[field, value, …]` as a dict (a repeated field: its last value, as redis-py; a
    dangling field is dropped)."""
    it = iter(flat)
    return dict(zip(it, it, strict=False))


async def raw_reply(client: Redis, command: bytes, *args: str | int) -> Any:
    """A command's reply as Redis sent it: redis-py looks up the reply's parser by the
    command's name as a string, so a name given as bytes has none."""
    return await client.execute_command(command, *args)  # type: ignore[no-untyped-call]


def raw_entries(items: list[Any]) -> list[RawEntry]:
    """The entries of a raw reply; XAUTOCLAIM on Redis 6.2 gives nil for a deleted one."""
    return [(item[0], item[1] or []) for item in items if item is not None]


@dataclass(frozen=True)
class GroupMember:
    """One consumer of one group on one stream, reading `batch` entries at a time."""

    stream: str
    group: str
    consumer: str
    batch: int

    async def read(self, client: Redis, after: str, block_ms: int | None = None) -> list[RawEntry]:
        """One XREADGROUP: our pending entries after `after`, or new ones with `after=">"`."""
        args: list[str | int] = ["GROUP", self.group, self.consumer, "COUNT", self.batch]
        if block_ms is not None:
            args += ["BLOCK", block_ms]
        reply = await raw_reply(client, b"XREADGROUP", *args, "STREAMS", self.stream, after)
        return raw_entries(reply[0][1]) if reply else []  # nil after a BLOCK timeout

    async def pending_pages(self, redis: Redis) -> AsyncIterator[list[RawEntry]]:
        """Our own pending entries, oldest first, a page at a time. Each page starts after
        the last one, so an entry its handler leaves pending is not read again this pass."""
        after = "0"
        while entries := await self.read(redis, after):
            yield entries
            after = entries[-1][0]

    async def idle_pages(
        self, redis: Redis, min_idle_ms: int
    ) -> AsyncIterator[tuple[list[RawEntry], list[str]]]:
        """XAUTOCLAIM every entry idle longer than `min_idle_ms` (on any consumer) into
        ours, a page at a time: (claimed entries, ids deleted from the stream while pending
        — Redis 7.0+ already took those out of the PEL)."""
        cursor = "0-0"
        for _ in range(MAX_CLAIM_PAGES):
            reply = await raw_reply(
                redis, b"XAUTOCLAIM", self.stream, self.group, self.consumer, min_idle_ms,
                cursor, "COUNT", self.batch,
            )  # fmt: skip
            cursor, entries = str(reply[0]), raw_entries(reply[1])
            deleted = [str(sid) for sid in reply[2]] if len(reply) > 2 else []
            yield entries, deleted
            if cursor in ("0-0", "0"):
                return


#: What `GroupReader` backs off from: also a refused command (NOGROUP: the stream was
#: deleted, and the group is created again).
RETRIED = (*TRANSIENT, ResponseError)


@dataclass
class GroupReader:
    """The whole loop for one stream and one consumer: janitor, history, new entries,
    with backoff on Redis errors. A handler that raises one of `RETRIED` makes the loop
    back off and re-read our pending entries."""

    redis: Redis  # commands
    reader: Redis  # blocking reads (socket timeout > block)
    member: GroupMember
    block_ms: int
    claim_idle_ms: int
    janitor_ms: int
    start_id: str = "0"  # where the group is (re)created if it vanished

    async def _history(self, handle: Handler) -> None:
        async for entries in self.member.pending_pages(self.redis):
            await handle(_decoded(entries))

    async def _claim_idle(self, handle: Handler) -> None:
        async for entries, _deleted in self.member.idle_pages(self.redis, self.claim_idle_ms):
            if entries:
                logger.info("claimed %d idle entries of %s", len(entries), self.member.stream)
                await handle(_decoded(entries))

    async def _new_or_stop(self, stop: asyncio.Event) -> list[Entry]:
        read = self.member.read(self.reader, ">", self.block_ms)
        return _decoded(await unless_stopped(read, stop, [], RETRIED))

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
            except RETRIED as exc:
                history = True
                m = self.member
                if "NOGROUP" in str(exc):  # the stream was deleted: start again
                    with contextlib.suppress(*RETRIED):
                        await ensure_group(self.redis, m.stream, m.group, self.start_id)
                delay = backoff.next()
                logger.warning("%s: read error (%s); retrying in %.1fs", m.stream, exc, delay)
                await wait_or_stop(stop, delay)


def _decoded(entries: list[RawEntry]) -> list[Entry]:
    return [(sid, entry_dict(flat)) for sid, flat in entries]
