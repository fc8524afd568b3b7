"""`GET /api/liquidations`: the tape, read straight from the event stream, newest first.

Bounded work per request: a request walks the stream backwards with XREVRANGE in pages
and stops after `web_max_scan` entries even if fewer than `limit` matched. `next` is then
the id of the last entry scanned, so a rare filter over a long stream returns short (even
empty) pages with a `next` cursor; following it continues exactly where the scan stopped.
`next` is null only when the scan reached the end of the selected range.

`since`/`until` select on the event time `ts`; the scan is narrowed with stream ids
(arrival time), allowing for clock skew and late arrival (filters.py).
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from liqmon.event import InvalidEvent, LiquidationEvent
from liqmon.keys import Keys
from liqmon_web.filters import EventFilter, EventKey, StreamId, as_entries

PAGE_MAX = 1000


def _cheap_reject(flt: EventFilter, fields: dict[str, str]) -> bool:
    """Reject on the raw string fields before paying for a full parse."""
    if flt.exchanges and fields.get("exchange") not in flt.exchanges:
        return True
    if flt.side is not None and fields.get("side") != flt.side:
        return True
    return bool(flt.symbols) and fields.get("symbol", "").upper() not in flt.symbols


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

    items: list[dict[str, Any]] = []
    scanned = 0
    last_id = ""
    while scanned < max_scan:
        count = min(PAGE_MAX, max_scan - scanned, max(limit - len(items), 0) * 4 + 50)
        page = as_entries(await redis.xrevrange(keys.events, max=high, min=low, count=count))
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
                items.append(event.to_json_dict(last_id))
                if len(items) >= limit:
                    return items, last_id
        if len(page) < count:
            return items, None
        high = f"({last_id}"
    return items, last_id or None
