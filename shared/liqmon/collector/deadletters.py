"""Bad frames: counted, logged once per kind, and kept in the dead-letter stream.

A hostile feed can send thousands of bad frames a second: each is counted, the first of a
kind (the reason up to its first colon) is logged with its context, and every one is queued
for the dead-letter stream (`liqmon.deadletter.append_deadletters`). The queue is bounded: while
Redis is away only the newest `capacity` letters wait, the rest are counted as `dropped`.
"""

from __future__ import annotations

import logging
from collections import deque

from redis.asyncio import Redis

from liqmon.deadletter import append_deadletters, deadletter_fields
from liqmon.keys import Keys
from liqmon.logs import LogOnce

logger = logging.getLogger(__name__)


class DeadLetters:
    def __init__(self, source: str, *, capacity: int = 5_000) -> None:
        self.source = source
        self.count = 0
        self.dropped = 0
        self._pending: deque[dict[str, str]] = deque(maxlen=capacity)
        self._log = LogOnce(logger)

    def record(self, reason: str, raw: str | bytes, context: str) -> None:
        self.count += 1
        kind = reason.split(":", 1)[0][:60]
        self._log.warning(
            kind, "%s: bad input (%s) at %s: %.200r", self.source, reason, context, raw
        )
        if len(self._pending) == self._pending.maxlen:
            self.dropped += 1
        self._pending.append(
            deadletter_fields(source=self.source, reason=reason, raw=raw, context=context)
        )

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self, redis: Redis, keys: Keys) -> None:
        """Write what is queued; on a Redis error the letters stay queued and it re-raises."""
        if not self._pending:
            return
        batch = list(self._pending)
        await append_deadletters(redis, keys, batch)
        for _ in batch:
            self._pending.popleft()
