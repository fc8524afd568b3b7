"""`GET /api/liquidations`: the tape, read straight from the event stream, newest first.

Two ways to find the matching entries, both with bounded work per request:

- **By coin** (`symbol=` given): the per-coin index (`Keys.events_by_symbol`, one entry
  per event under the same stream id as in `events`, written at append) gives the ids of
  that coin's events newest first, and the same script call reads their entries from
  `events` (index_entries.lua: one round trip per page, however many indexes, as they
  go in one pipeline). A rare coin costs what its own events cost, however many other
  events the stream holds, to the end of retention. Several coins are merged newest
  first.
- **Otherwise** the stream itself is walked backwards with XREVRANGE in pages.

Either way a request reads at most `web_max_scan` entries (index entries, or stream
entries) even if fewer than `limit` matched. `next` is then the id of the last entry
read, so a rare filter returns short (even empty) pages with a `next` cursor; following
it continues exactly where the read stopped. `next` is null only when the selected range
is exhausted.

`since`/`until` select on the event time `ts`; both reads are narrowed with stream ids
(arrival time), allowing for clock skew and late arrival (filters.py).

Each stream entry is listed as it is: the stream carries each liquidation once within
the horizon docs/EVENTS.md states (refused at append), so no event-id check happens here.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from liqmon import scripts
from liqmon.event import InvalidEvent, LiquidationEvent
from liqmon.keys import Keys
from liqmon_web.filters import EventFilter, EventKey
from liqmon_web.stream_ids import StreamId, as_entries, parse_stream_id

PAGE_MAX = 1000

Item = dict[str, Any]


def _cheap_reject(flt: EventFilter, fields: dict[str, str]) -> bool:
    """Reject on the raw string fields before paying for a full parse."""
    if flt.exchanges and fields.get("exchange") not in flt.exchanges:
        return True
    if flt.side is not None and fields.get("side") != flt.side:
        return True
    return bool(flt.symbols) and fields.get("symbol", "").upper() not in flt.symbols


def _match(flt: EventFilter, raw_id: str, fields: dict[str, str]) -> Item | None:
    """The API item of a stream entry, or None if it does not match (or is malformed:
    a malformed entry is not the client's problem; it is skipped)."""
    if _cheap_reject(flt, fields):
        return None
    try:
        event = LiquidationEvent.from_fields(fields)
    except InvalidEvent:
        return None
    return event.to_json_dict(raw_id) if flt.matches(EventKey.of(event)) else None


def _page_size(wanted: int, budget: int, *, only_symbols: bool) -> int:
    """Entries to read next: exactly what is still wanted when every entry read will match
    (an index read with no other filter), else a margin for the ones that will not."""
    size = wanted if only_symbols else wanted * 4 + 50
    return max(1, min(PAGE_MAX, budget, size))


async def read_tape(
    redis: Redis,
    keys: Keys,
    flt: EventFilter,
    *,
    limit: int,
    cursor: StreamId | None,
    max_scan: int,
) -> tuple[list[Item], str | None]:
    """Matching events, newest first, and the cursor to continue (None: nothing older)."""
    if cursor == StreamId(0, 0):
        return [], None
    high = "+" if cursor is None else f"({cursor}"
    ceiling = flt.scan_ceiling()
    if ceiling is not None and (cursor is None or ceiling < cursor):
        high = str(ceiling)
    floor = flt.scan_floor()
    low = "-" if floor is None else str(floor)
    if flt.symbols:
        return await read_indexed(redis, keys, flt, (high, low), limit, max_scan)
    return await read_scan(redis, keys, flt, (high, low), limit, max_scan)


async def read_scan(
    redis: Redis, keys: Keys, flt: EventFilter, bounds: tuple[str, str], limit: int, max_scan: int
) -> tuple[list[Item], str | None]:
    """Walk the stream itself within `bounds` (XREVRANGE max, min)."""
    high, low = bounds
    items: list[Item] = []
    scanned = 0
    last_id = ""
    while scanned < max_scan:
        count = _page_size(limit - len(items), max_scan - scanned, only_symbols=False)
        page = as_entries(await redis.xrevrange(keys.events, max=high, min=low, count=count))
        for raw_id, fields in page:
            scanned += 1
            last_id = str(raw_id)
            item = _match(flt, last_id, fields)
            if item is not None:
                items.append(item)
                if len(items) >= limit:
                    return items, last_id
        if len(page) < count:
            return items, None
        high = f"({last_id}"
    return items, last_id or None


class _IndexCursor:
    """One coin's index, read newest first in pages."""

    __slots__ = ("done", "high", "key", "last")

    def __init__(self, key: str, high: str) -> None:
        self.key = key
        self.high = high
        self.last: StreamId | None = None  # the oldest id read so far
        self.done = False


async def read_indexed(
    redis: Redis, keys: Keys, flt: EventFilter, bounds: tuple[str, str], limit: int, max_scan: int
) -> tuple[list[Item], str | None]:
    """The coins' index entries within `bounds`, merged newest first, with their events.

    Several coins: each index is read in pages, and an entry is used only once no unread
    entry of any index can be newer (it is at or above the `frontier`: the newest of the
    oldest ids read from the indexes not yet exhausted), so the merge is exact across
    pages, and `next` never skips an unread entry.
    """
    high, low = bounds
    names = flt.symbol_spellings or flt.symbols
    indexes = [_IndexCursor(keys.events_by_symbol(s), high) for s in sorted(names)]
    # With nothing but coins to match, every event the index names matches: read no more.
    only_symbols = not (flt.exchanges or flt.side or flt.min_cents or flt.since or flt.until)
    script = scripts.load(redis, __package__, "index_entries")
    pending: list[tuple[StreamId, Any]] = []  # read, not used yet (newest first)
    items: list[Item] = []
    read = 0
    while True:
        live = [ix for ix in indexes if not ix.done]
        if live and read < max_scan:
            count = _page_size(limit - len(items), max_scan - read, only_symbols=only_symbols)
            count = max(1, min(count, (max_scan - read) // len(live)))
            if len(live) == 1:  # the usual case: no pipeline to build
                replies = [
                    await script(keys=[keys.events, live[0].key], args=[live[0].high, low, count])
                ]
            else:
                pipe = redis.pipeline(transaction=False)
                for ix in live:
                    await script(
                        keys=[keys.events, ix.key], args=[ix.high, low, count], client=pipe
                    )
                replies = await pipe.execute()
            for ix, reply in zip(live, replies, strict=True):
                rows = [(sid, e[1]) for e in reply if (sid := parse_stream_id(str(e[0])))]
                read += len(rows)
                pending += rows
                if rows:
                    ix.last = rows[-1][0]
                    ix.high = f"({rows[-1][0]}"
                ix.done = len(reply) < count
            if len(live) > 1:
                pending.sort(key=lambda row: row[0], reverse=True)
        frontier = max((ix.last for ix in indexes if not ix.done and ix.last), default=None)
        ready = [row for row in pending if frontier is None or row[0] >= frontier]
        del pending[: len(ready)]
        for sid, fields in ready:
            item = _match(flt, str(sid), _field_map(fields)) if fields else None
            if item is not None:
                items.append(item)
                if len(items) >= limit:
                    return items, str(sid)
        if frontier is None:  # every index read to `low`
            return items, None
        if read >= max_scan:  # everything at or above the frontier was looked at
            return items, str(frontier)


def _field_map(flat: list[Any]) -> dict[str, str]:
    """A Lua-returned entry's `{field, value, ...}` list as the decoded field map."""
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}
