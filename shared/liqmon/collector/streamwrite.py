"""The collectors' one way onto the event stream: `append_events.lua`, one call per batch.

The script appends each liquidation once (it refuses an id the stream already holds: see
docs/EVENTS.md "Repeats"), writes the per-symbol index entry with the same entry id, and
trims both by time, atomically. The batch travels as ONE `EVALSHA` whose payload is a
single JSON document (orjson, C speed) plus the ids as raw dedup fields: redis-py packing
every XADD argument one by one (31 per event) capped a pipelined writer at ~19k events/s
on one core (bench/collectors.py). The entries are byte-identical to the raw
`liqmon.bus.append_events` (same fields, same order, `LiquidationEvent.to_fields()`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import orjson
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from liqmon import scripts
from liqmon.event import FIELDS, LiquidationEvent
from liqmon.keys import Keys, id_field
from liqmon.windows import BUCKET_MS

_NAMES: Final = orjson.dumps(list(FIELDS))
_SYMBOL_AT: Final = FIELDS.index("symbol") + 1


class StreamAppender:
    def __init__(self, redis: Redis, keys: Keys, *, retention_ms: int) -> None:
        self._script: AsyncScript = scripts.load(redis, __package__, "append_events")
        self._keys = keys
        self._retention_ms = retention_ms
        self._index_prefix = keys.events_by_symbol("")
        #: Events refused because the stream already holds their id (since the start).
        self.duplicates = 0

    async def append(self, events: Sequence[LiquidationEvent]) -> int:
        """Append the batch in order (one round trip); returns how many were appended (the
        rest were repeats, counted in `duplicates`). Raises orjson.JSONEncodeError for an
        event whose text cannot be encoded (the caller drops it and retries)."""
        if not events:
            return 0
        keys = self._keys
        script_keys = [keys.events, keys.indexed_symbols]
        at: dict[str, int] = {}
        rows: list[str | int] = []  # one flat array: see the script's ARGV 3
        ids: list[bytes] = []
        for event in events:
            ids_key = keys.appended_ids(event.ts // BUCKET_MS)
            sym_key = keys.events_by_symbol(event.symbol)
            for key in (ids_key, sym_key):
                if key not in at:
                    script_keys.append(key)
                    at[key] = len(script_keys)
            rows.extend(event.to_fields().values())
            rows.append(at[ids_key])
            rows.append(at[sym_key])
            ids.append(id_field(event.id))
        args: list[str | bytes | int] = [
            self._retention_ms,
            _NAMES,
            orjson.dumps(rows),
            self._index_prefix,
            _SYMBOL_AT,
            *ids,
        ]
        added, _statuses = await self._script(keys=script_keys, args=args)
        self.duplicates += len(events) - int(added)
        return int(added)
