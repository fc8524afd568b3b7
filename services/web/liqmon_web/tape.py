"""`GET /api/liquidations`: the tape, read straight from the event stream, newest first.

Bounded work per request: a request walks the stream backwards with XREVRANGE in pages
and stops after `web_max_scan` entries even if fewer than `limit` matched. `next` is then
the id of the last entry scanned, so a rare filter over a long stream returns short (even
empty) pages with a `next` cursor; following it continues exactly where the scan stopped.
`next` is null only when the scan reached the end of the selected range.

`since`/`until` select on the event time `ts`; the scan is narrowed with stream ids
(arrival time), allowing for clock skew and late arrival (filters.py).

Each event id is listed once: a stream entry that repeats an older entry's event id is
skipped, within the page and across pages, within the look-back horizon of dedup.py.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Final

from redis.asyncio import Redis

from liqmon.event import InvalidEvent, LiquidationEvent
from liqmon.keys import Keys
from liqmon_web.dedup import LOOKBACK_MAX, lookback_floor_ms
from liqmon_web.filters import EventFilter, EventKey, StreamId, as_entries, parse_stream_id

PAGE_MAX = 1000
EVENT_IDS_LUA: Final = resources.files(__package__).joinpath("event_ids.lua").read_text()


def _cheap_reject(flt: EventFilter, fields: dict[str, str]) -> bool:
    """Reject on the raw string fields before paying for a full parse."""
    if flt.exchanges and fields.get("exchange") not in flt.exchanges:
        return True
    if flt.side is not None and fields.get("side") != flt.side:
        return True
    return bool(flt.symbols) and fields.get("symbol", "").upper() not in flt.symbols


class _Match:
    """A matching entry kept for the page, with what the repeat check needs."""

    __slots__ = ("eid", "floor_ms", "item", "sid")

    def __init__(self, sid: StreamId, event: LiquidationEvent, item: dict[str, Any]) -> None:
        self.sid = sid
        self.eid = event.id
        self.floor_ms = lookback_floor_ms(sid.ms, event.ts)
        self.item = item

    def repeats(self, older: StreamId) -> bool:
        """Is this a repeat of a copy of its event at stream id `older`? (dedup.py)"""
        return older < self.sid and older.ms >= self.floor_ms


async def read_tape(
    redis: Redis,
    keys: Keys,
    flt: EventFilter,
    *,
    limit: int,
    cursor: StreamId | None,
    max_scan: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Matching events, newest first, and the cursor to continue (None: nothing older)."""
    if cursor == StreamId(0, 0):
        return [], None
    high = "+" if cursor is None else f"({cursor}"
    ceiling = flt.scan_ceiling()
    if ceiling is not None and (cursor is None or ceiling < cursor):
        high = str(ceiling)
    floor = flt.scan_floor()
    low = "-" if floor is None else str(floor)
    matches, nxt, scanned_to = await _scan(redis, keys.events, flt, (high, low), limit, max_scan)
    if matches:
        assert scanned_to is not None
        matches = await _drop_repeats(redis, keys, matches, scanned_to)
    return [m.item for m in matches], nxt


async def _scan(
    redis: Redis, key: str, flt: EventFilter, bounds: tuple[str, str], limit: int, max_scan: int
) -> tuple[list[_Match], str | None, StreamId | None]:
    """Matches newest first within `bounds` (XREVRANGE max, min), the `next` cursor, and
    the oldest stream id scanned."""
    high, low = bounds
    matches: list[_Match] = []
    scanned = 0
    last_id = ""
    while scanned < max_scan:
        count = min(PAGE_MAX, max_scan - scanned, max(limit - len(matches), 0) * 4 + 50)
        page = as_entries(await redis.xrevrange(key, max=high, min=low, count=count))
        for raw_id, fields in page:
            scanned += 1
            last_id = str(raw_id)
            if _cheap_reject(flt, fields):
                continue
            try:
                event = LiquidationEvent.from_fields(fields)
            except InvalidEvent:
                continue  # a malformed entry is not the client's problem; skip it
            if flt.matches(EventKey.of(event)):
                sid = parse_stream_id(last_id)
                assert sid is not None
                matches.append(_Match(sid, event, event.to_json_dict(last_id)))
                if len(matches) >= limit:
                    return matches, last_id, sid
        if len(page) < count:
            return matches, None, parse_stream_id(last_id)
        high = f"({last_id}"
    return matches, last_id or None, parse_stream_id(last_id)


async def _drop_repeats(
    redis: Redis, keys: Keys, matches: list[_Match], scanned_to: StreamId
) -> list[_Match]:
    """Drop every match that repeats an older copy of its event id (dedup.py).

    Every entry from the top of the scan down to `scanned_to` was read, and a copy of an
    event matches the filter exactly as the event does, so the older copies in that range
    are among `matches`; older ones are looked for below it, in one bounded read.
    """
    copies: dict[str, list[StreamId]] = {}
    for m in matches:
        copies.setdefault(m.eid, []).append(m.sid)
    kept = [m for m in matches if not any(m.repeats(older) for older in copies[m.eid])]
    below = [m for m in kept if m.floor_ms <= scanned_to.ms]
    if not below:
        return kept
    low = min(m.floor_ms for m in below)
    script = redis.register_script(EVENT_IDS_LUA)
    args: list[str | int] = [f"({scanned_to}", low, LOOKBACK_MAX]
    reply: list[str] = await script(keys=[keys.events], args=args)
    wanted = {m.eid for m in below}
    older: dict[str, list[StreamId]] = {}
    for i in range(0, len(reply), 2):
        eid = reply[i + 1]
        if eid in wanted:
            sid = parse_stream_id(str(reply[i]))
            assert sid is not None
            older.setdefault(eid, []).append(sid)
    if not older:
        return kept
    return [m for m in kept if not any(m.repeats(sid) for sid in older.get(m.eid, ()))]
