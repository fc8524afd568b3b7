"""The collectors' one way onto the event stream: `append_events.lua`, one call per batch.

The script appends each liquidation once (it refuses an id the stream already holds: see
docs/EVENTS.md "Repeats"), writes the per-symbol index entry with the same entry id, and
trims both by time, atomically. The batch travels as ONE `EVALSHA` whose payload is a
single JSON document (orjson, C speed) plus the ids as raw dedup fields: redis-py packing
every XADD argument one by one (31 per event) capped a pipelined writer at ~19k events/s
on one core (bench/collectors.py). The entries are byte-identical to the raw
`liqmon.bus.append_events` (same fields, same order, `LiquidationEvent.texts()`).

Group commit: one appender may serve several writers (`liqmon run collectors` shares one
per process across its venues). Batches handed in while a call is in flight wait, and the
next call carries all of them, up to `max_rows`, as one script call: each writer keeps its
own order and its own one-batch-at-a-time rhythm, but ten venues' small batches cost Redis
and this process one call instead of ten. Why it pays: the script's fixed cost per call
(the EVALSHA, decoding, the bucket and index bookkeeping) is most of its cost at a crash's
batches of ~10 events; per event, batches of 100 cost Redis ~40 % and the sending side
~70 % less (bench/append_script.py, docs/PERFORMANCE.md). A batch whose text cannot be
encoded fails alone; a Redis error fails every batch of that call, and each writer retries
its own (a retry of a batch that did land is refused as repeats, exactly as before).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Final

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from liqmon import scripts
from liqmon.collector.settings import CollectorSettings
from liqmon.event import FIELDS, LiquidationEvent
from liqmon.keys import Keys, id_field
from liqmon.linger import linger_left, lingers, span_since
from liqmon.windows import BUCKET_MS

_NAMES: Final = orjson.dumps(list(FIELDS))
_SYMBOL_AT: Final = FIELDS.index("symbol") + 1
#: Rows in one script call at most: Redis runs a script alone, so a call of 10,000 rows
#: would hold every other client (the aggregator, the web) for a tenth of a second.
MAX_ROWS = 2_000


class _Batch:
    """One writer's batch waiting for (or in) a call: its outcome once the call returned."""

    __slots__ = ("added", "error", "events")

    def __init__(self, events: Sequence[LiquidationEvent]) -> None:
        self.events = events
        self.added: int | None = None
        self.error: BaseException | None = None


class StreamAppender:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        retention_ms: int,
        max_rows: int = MAX_ROWS,
        linger_s: float = 0.0,
    ) -> None:
        """`linger_s`: while the stream is busy, the next call starts no sooner than this
        after the last (the batches meanwhile join it): `liqmon.linger`."""
        self._script: AsyncScript = scripts.load(redis, __package__, "append_events")
        self._keys = keys
        self._retention_ms = retention_ms
        self._max_rows = max_rows
        self._linger_s = linger_s
        self._last_call_at = 0.0
        self._last_rows = 0
        self._last_span = 0.0  # from the call before the last to the last
        self._index_prefix = keys.events_by_symbol("")
        self._waiting: list[_Batch] = []
        self._turn = asyncio.Lock()
        #: Events refused because the stream already holds their id (since the start).
        self.duplicates = 0
        #: Script calls made, the batches and events they carried (batches per call: the group
        #: commit at work).
        self.calls = 0
        self.batches = 0
        self.rows = 0

    @classmethod
    def from_settings(cls, redis: Redis, settings: CollectorSettings) -> StreamAppender:
        return cls(
            redis,
            settings.keys,
            retention_ms=settings.retention_ms,
            max_rows=settings.collector_batch_max,
            linger_s=settings.collector_linger_ms / 1000,
        )

    async def append(self, events: Sequence[LiquidationEvent]) -> int:
        """Append the batch in order; returns how many were appended (the rest were
        repeats, counted in `duplicates`). Raises orjson.JSONEncodeError for an event whose
        text cannot be encoded (the caller drops it and retries), and Redis's errors."""
        if not events:
            return 0
        mine = _Batch(events)
        self._waiting.append(mine)
        try:
            async with self._turn:
                if mine.added is None and mine.error is None:
                    await self._linger()
                    await self._call(mine)  # carries mine, and whatever waits beside it
        except BaseException:
            if mine in self._waiting:  # cancelled before any call took it
                self._waiting.remove(mine)
            raise
        if mine.error is not None:
            raise mine.error
        assert mine.added is not None
        return mine.added

    async def _linger(self) -> None:
        if lingers(self._last_rows, self._max_rows, self._linger_s, self._last_span):
            wait = linger_left(self._last_call_at, self._linger_s)
            if wait > 0:
                await asyncio.sleep(wait)

    def _take(self) -> list[_Batch]:
        """The waiting batches, in arrival order, up to `max_rows` (at least one)."""
        taken: list[_Batch] = []
        rows = 0
        waiting = self._waiting
        while waiting and (not taken or rows + len(waiting[0].events) <= self._max_rows):
            batch = waiting.pop(0)
            taken.append(batch)
            rows += len(batch.events)
        return taken

    async def _call(self, leader: _Batch) -> None:
        keys = self._keys
        script_keys = [keys.events, keys.indexed_symbols]
        # Each row's two keys by their KEYS index, looked up by bucket and by symbol: a
        # call's rows share a few of each, so each key's name is built once per call. (The
        # two kinds of names never collide: `…:events:ids:<n>` vs `…:events:sym:<s>`.)
        bucket_at: dict[int, int] = {}
        symbol_at: dict[str, int] = {}
        payloads: list[bytes] = []
        ids: list[bytes] = []
        sent: list[_Batch] = []
        for batch in self._take():
            mark = len(script_keys)
            rows: list[str | int] = []  # one flat array: see the script's ARGV 3
            for event in batch.events:
                bucket = event.ts // BUCKET_MS
                ids_at = bucket_at.get(bucket)
                if ids_at is None:
                    script_keys.append(keys.appended_ids(bucket))
                    ids_at = bucket_at[bucket] = len(script_keys)
                sym_at = symbol_at.get(event.symbol)
                if sym_at is None:
                    script_keys.append(keys.events_by_symbol(event.symbol))
                    sym_at = symbol_at[event.symbol] = len(script_keys)
                rows += event.texts()
                rows.append(ids_at)
                rows.append(sym_at)
            try:
                payloads.append(orjson.dumps(rows)[1:-1])
            except orjson.JSONEncodeError as exc:
                batch.error = exc  # this batch alone: the rest still go, without its keys
                for bucket in [b for b, index in bucket_at.items() if index > mark]:
                    del bucket_at[bucket]
                for symbol in [s for s, index in symbol_at.items() if index > mark]:
                    del symbol_at[symbol]
                del script_keys[mark:]
                continue
            ids.extend(id_field(event.id) for event in batch.events)
            sent.append(batch)
        if not sent:
            return
        args: list[str | bytes | int] = [
            self._retention_ms,
            _NAMES,
            b"[" + b",".join(payloads) + b"]",
            self._index_prefix,
            _SYMBOL_AT,
            *ids,
        ]
        now = time.monotonic()
        self._last_span = span_since(self._last_call_at, now)
        self.calls += 1
        self._last_call_at, self._last_rows = now, len(ids)
        self.batches += len(sent)
        self.rows += len(ids)
        try:
            _added, statuses = await self._script(keys=script_keys, args=args)
        except asyncio.CancelledError:  # the caller that made the call is going away
            self._waiting[:0] = [batch for batch in sent if batch is not leader]
            raise  # the others go again with the next call (what landed is refused there)
        except BaseException as exc:
            for batch in sent:
                batch.error = exc
            raise
        letters = statuses.decode() if isinstance(statuses, bytes) else str(statuses)
        start = 0
        for batch in sent:
            end = start + len(batch.events)
            batch.added = letters.count("A", start, end)
            self.duplicates += len(batch.events) - batch.added
            start = end
