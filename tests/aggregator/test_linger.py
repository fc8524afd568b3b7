"""The consumer's linger: while the stream is busy, reads are spaced by
`aggregator_linger_ms` so that each apply.lua call carries more events; a quiet stream and
a backlog are read at once."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from liqmon import views
from liqmon.bus import append_events
from liqmon.keys import Keys
from liqmon.linger import BUSY_FROM
from liqmon_aggregator.apply import Applier
from liqmon_aggregator.consumer import Consumer, ensure_group
from liqmon_aggregator.settings import ConsumerSettings
from tests.aggregator.factory import make_event

RETENTION = 48 * 3_600_000


class CountingApplier(Applier):
    calls = 0

    async def apply(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return await super().apply(*args, **kwargs)


def consumer(redis: Redis, keys: Keys, **settings: int) -> tuple[Consumer, CountingApplier]:
    applier = CountingApplier(redis, keys, retention_ms=RETENTION, max_future_ms=300_000)
    # unvalidated: the test lingers past the setting's bound, a margin for a loaded machine
    made = Consumer(
        redis, redis, keys, applier, ConsumerSettings.model_construct(**settings), name="t1"
    )
    return made, applier


async def applied(redis: Redis, keys: Keys, n: int) -> None:
    while (await views.read_aggregator_health(redis, keys))["applied"] < n:
        await asyncio.sleep(0.01)


async def test_after_a_busy_read_the_next_waits_and_takes_what_came_meanwhile(
    redis: Redis, keys: Keys
) -> None:
    now = time.time_ns() // 1_000_000
    await ensure_group(redis, keys)
    c, applier = consumer(redis, keys, aggregator_linger_ms=3000)
    busy = [make_event(n, now - 1000) for n in range(BUSY_FROM + 8)]
    await append_events(redis, keys, busy, retention_ms=RETENTION)
    stop = asyncio.Event()
    running = asyncio.create_task(c.run(stop))
    try:
        await asyncio.wait_for(applied(redis, keys, len(busy)), 10)
        calls = applier.calls
        for n in range(5):  # one by one, while the consumer lingers
            await append_events(redis, keys, [make_event(100 + n, now)], retention_ms=RETENTION)
        await asyncio.wait_for(applied(redis, keys, len(busy) + 5), 10)
        assert applier.calls == calls + 1
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)


async def test_a_quiet_read_or_a_full_one_does_not_linger(redis: Redis, keys: Keys) -> None:
    c, _ = consumer(redis, keys, aggregator_linger_ms=1000, aggregator_batch=100)
    assert c._lingers(BUSY_FROM, 0.0) and c._lingers(99, 0.01)
    assert not any(c._lingers(n, 0.0) for n in (0, BUSY_FROM - 1, 100))  # quiet; a backlog
    assert not c._lingers(99, 0.05)  # 99 in 50 ms: 1,980/s, an everyday rate
    stop = asyncio.Event()
    lingering = asyncio.create_task(c._linger(stop, time.monotonic()))
    await asyncio.sleep(0)
    assert not lingering.done()
    stop.set()  # a stop ends the linger at once
    await asyncio.wait_for(lingering, 0.5)
