"""Put back what the per-symbol index misses (part of `liqmon rebuild`).

The collectors' append script writes the index (`Keys.events_by_symbol`) with the same
entry ids as the main stream, from the moment it runs; entries appended earlier (before an
upgrade) are not indexed. This pass reads the retained stream up to a cut and, per symbol,
gives `symbol_index.lua` the entries older than the index's first one; the script rebuilds
that symbol's index atomically, so appends running meanwhile are kept.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from redis.asyncio import Redis

from liqmon import scripts
from liqmon.keys import Keys

logger = logging.getLogger(__name__)

PAGE = 5000


def _id_key(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


async def backfill_symbol_index(redis: Redis, keys: Keys) -> int:
    """Index every retained entry the index misses; returns how many were added."""
    info = await redis.xinfo_stream(keys.events) if await redis.exists(keys.events) else None
    if not info or not info.get("length"):
        return 0
    cut = str(info["last-generated-id"])
    first: dict[str, tuple[int, int] | None] = {}
    missing: defaultdict[str, list[str]] = defaultdict(list)
    start = "-"
    while True:
        page = await redis.xrange(keys.events, min=start, max=cut, count=PAGE)
        if not page:
            break
        for sid, fields in page:
            raw = (fields or {}).get("symbol")
            if not raw:
                continue
            symbol = raw.decode() if isinstance(raw, bytes) else str(raw)
            if symbol not in first:
                head = await redis.xrange(keys.events_by_symbol(symbol), count=1)
                first[symbol] = _id_key(str(head[0][0])) if head else None
            head_id = first[symbol]
            if head_id is None or _id_key(str(sid)) < head_id:
                missing[symbol].append(str(sid))
        if len(page) < PAGE:
            break
        start = f"({page[-1][0]!s}"
    script = scripts.load(redis, __package__, "symbol_index")
    added = 0
    for symbol, ids in missing.items():
        await script(
            keys=[keys.symbol_index_scratch, keys.events_by_symbol(symbol), keys.indexed_symbols],
            args=[symbol, _id_key(ids[-1])[0], *ids],
        )
        added += len(ids)
    if added:
        logger.info("indexed %d entries of %d symbols the index missed", added, len(missing))
    return added
