"""Helpers for other parts' tests: fold everything the stream holds, in-process.

`drain` lets a web or dashboard test write events with liqmon.bus.append_events and then
read the views without running an aggregator process. It is the real aggregator code
(same scripts, same consumer group, consumer name "drain"), so it is safe to call
repeatedly and while real aggregator processes run: entries they hold are left to them
(or claimed after a short idle time), and apply.lua's dedup makes any overlap harmless.
"""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from liqmon.keys import AGGREGATOR_GROUP, Keys
from liqmon.redis_client import create_redis

from .apply import Applier
from .consumer import Consumer, ensure_group
from .evictor import Evictor
from .settings import ConsumerSettings

DEFAULT_RETENTION_MS = 48 * 3_600_000
DEFAULT_MAX_FUTURE_MS = 300_000
DRAIN_CONSUMER = "drain"


async def backlog(redis: Redis, keys: Keys) -> tuple[int, int]:
    """(entries not yet delivered to the group, entries delivered but not acked)."""
    for group in await redis.xinfo_groups(keys.events):
        if group["name"] != AGGREGATOR_GROUP:
            continue
        pending = int(group["pending"])
        if group.get("lag") is not None:
            return int(group["lag"]), pending
        # lag is unknown after deletions: compare the last delivered id with the tail
        info = await redis.xinfo_stream(keys.events)
        undelivered = info["last-generated-id"] != group["last-delivered-id"]
        return (1 if undelivered else 0), pending
    return 1, 0


async def drain(redis_url: str, prefix: str = "liq", *, timeout: float = 30.0) -> None:
    """Process every entry currently in the stream, evict once, and return when the group
    has no lag and nothing pending. Raises TimeoutError after `timeout` seconds."""
    keys = Keys(prefix)
    redis = create_redis(redis_url)
    try:
        await ensure_group(redis, keys)
        applier = Applier(
            redis, keys, retention_ms=DEFAULT_RETENTION_MS, max_future_ms=DEFAULT_MAX_FUTURE_MS
        )
        consumer = Consumer(redis, redis, keys, applier, ConsumerSettings(), name=DRAIN_CONSUMER)
        evictor = Evictor(redis, keys)
        deadline = time.monotonic() + timeout
        waited_since: float | None = None
        while True:
            await applier.refresh_generation()
            await consumer.drain_history()
            while entries := await consumer.read_new(None):
                await consumer.process(entries, {})
            await evictor.run_once(applier.layout.gen)
            lag, pending = await backlog(redis, keys)
            if lag == 0 and pending == 0:
                return
            now = time.monotonic()
            if now > deadline:
                raise TimeoutError(f"drain: lag {lag}, pending {pending} after {timeout}s")
            if pending and lag == 0:
                # someone else holds entries: let them finish, claim them if they stall
                waited_since = waited_since or now
                if now - waited_since > 0.5:
                    await consumer.claim_idle(250)
            await asyncio.sleep(0.02)
    finally:
        await redis.aclose()
