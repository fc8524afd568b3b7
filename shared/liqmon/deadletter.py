"""The dead-letter stream writer (`liq:v1:deadletter`), used by the collectors and the
aggregator: malformed frames and poison entries with their raw text, reason and source.

The stream is bounded by length (it is a diagnostic, and a hostile feed must not be able
to fill memory), and each raw frame kept there is capped.
"""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from liqmon.clock import now_ms
from liqmon.keys import Keys

DEADLETTER_MAXLEN = 10_000
DEADLETTER_RAW_LIMIT = 16_384


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
