"""Writers for the public streams: events (`liq:v1:events`) and dead letters.

Retention is by time, never by length alone: each batch trims the event stream with
`MINID ~ <now - retention>`, so a burst can never push out entries a lagging consumer has
not read yet. The dead-letter stream is bounded by length (it is a diagnostic, and a
hostile feed must not be able to fill memory), and each raw frame kept there is capped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis.asyncio import Redis

from liqmon.event import LiquidationEvent
from liqmon.keys import Keys

DEADLETTER_MAXLEN = 10_000
DEADLETTER_RAW_LIMIT = 16_384


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def append_events(
    redis: Redis,
    keys: Keys,
    events: Sequence[LiquidationEvent],
    *,
    retention_ms: int,
) -> list[str]:
    """XADD a batch in one pipelined round trip, in order; return the stream ids.

    The first XADD of the batch carries the time trim (approximate, so it only frees whole
    radix-tree nodes and costs next to nothing).
    """
    if not events:
        return []
    pipe = redis.pipeline(transaction=False)
    minid = str(now_ms() - retention_ms)
    for index, event in enumerate(events):
        if index == 0:
            pipe.xadd(keys.events, event.to_fields(), minid=minid, approximate=True)  # type: ignore[arg-type]
        else:
            pipe.xadd(keys.events, event.to_fields())  # type: ignore[arg-type]
    ids = await pipe.execute()
    return [i.decode() if isinstance(i, bytes) else str(i) for i in ids]


def deadletter_fields(
    *, source: str, reason: str, raw: str | bytes, context: str = ""
) -> dict[str, str]:
    """The fields of one dead letter: raw text (capped), reason, source, context, time."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    truncated = len(text) > DEADLETTER_RAW_LIMIT
    return {
        "source": source,
        "reason": reason[:500],
        "context": context[:500],
        "raw": text[:DEADLETTER_RAW_LIMIT],
        "raw_len": str(len(text)),
        "truncated": "1" if truncated else "0",
        "ts": str(now_ms()),
    }


async def append_deadletters(redis: Redis, keys: Keys, letters: Sequence[dict[str, str]]) -> None:
    """XADD dead letters (built with `deadletter_fields`), trimming by length."""
    if not letters:
        return
    pipe = redis.pipeline(transaction=False)
    for fields in letters:
        pipe.xadd(keys.deadletter, fields, maxlen=DEADLETTER_MAXLEN, approximate=True)  # type: ignore[arg-type]
    await pipe.execute()
