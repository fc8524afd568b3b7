"""The aggregator service: consumer loop + evictor + self-check + heartbeat.

Consumer names are stable so a restarted process finds its own pending entries
(liqmon.consumer_slot): LIQMON_AGGREGATOR_CONSUMER as is (one per process!), or the lowest
free leased slot `agg-1`, `agg-2`, …. A name whose lease lapsed while its owner still runs
is harmless — apply.lua's dedup makes two consumers sharing a PEL merely redundant.
"""

from __future__ import annotations

import asyncio
import logging

from liqmon import scripts
from liqmon.consumer_slot import SlotLease, owner_token
from liqmon.redis_client import create_blocking_reader, create_redis, wait_for_redis
from liqmon.runtime import TaskSet, every

from .apply import Applier
from .consumer import Consumer, ensure_group
from .evictor import Evictor
from .rebuild import ensure_layout
from .selfcheck import SelfCheck
from .settings import AggregatorSettings

logger = logging.getLogger(__name__)


class AggregatorService:
    name = "aggregator"

    def __init__(self, settings: AggregatorSettings) -> None:
        self.settings = settings
        self.keys = settings.keys
        self.redis = create_redis(settings.redis_url, name="liqmon-aggregator")
        self.reader = create_blocking_reader(
            settings.redis_url, block_ms=settings.aggregator_block_ms, name="liqmon-agg-reader"
        )
        self.token = owner_token()
        self.lease = SlotLease(
            self.redis,
            self.keys.agg_consumer_slot,
            "agg-",
            self.token,
            settings.aggregator_lease_ms,
        )
        self.consumer: Consumer | None = None
        self.tasks = TaskSet()

    async def startup(self) -> None:
        s = self.settings
        await wait_for_redis(self.redis)
        await ensure_group(self.redis, self.keys)
        await ensure_layout(
            self.redis,
            self.keys,
            retention_ms=s.retention_ms,
            max_future_ms=s.aggregator_max_future_ms,
        )
        name = s.aggregator_consumer or await self.lease.acquire()
        applier = Applier(
            self.redis,
            self.keys,
            retention_ms=s.retention_ms,
            max_future_ms=s.aggregator_max_future_ms,
        )
        await applier.refresh_generation()
        self.consumer = Consumer(
            self.redis,
            self.reader,
            self.keys,
            applier,
            s,
            name=name,
        )
        logger.info("consuming as %s (generation %d)", name, applier.layout.gen)

    async def run(self, stop: asyncio.Event) -> None:
        assert self.consumer is not None
        s = self.settings
        for what, period_ms, job in (
            ("evict", s.aggregator_evict_ms, self._evict),
            ("selfcheck", s.aggregator_selfcheck_ms, self._selfcheck),
            ("heartbeat", 5000, self._heartbeat),
        ):
            self.tasks.spawn(every(stop, period_ms / 1000, job, what), what)
        await self.consumer.run(stop)

    async def shutdown(self) -> None:
        await self.tasks.cancel_all()
        try:
            if self.consumer is not None:
                await self._heartbeat()
            await self.lease.release()
        except Exception as exc:  # shutting down: report, do not mask the exit
            logger.warning("final heartbeat failed: %s", exc)
        await self.reader.aclose()
        await self.redis.aclose()

    # --- periodic work ------------------------------------------------------------------
    async def _holds_evictor_lease(self) -> bool:
        assert self.consumer is not None
        ttl = max(5 * self.settings.aggregator_evict_ms, 5000)
        key = self.keys.agg_evictor_lease
        if await self.redis.set(key, self.consumer.name, nx=True, px=ttl):
            return True
        if await self.redis.get(key) == self.consumer.name:
            await self.redis.pexpire(key, ttl)
            return True
        return False

    async def _evict(self) -> None:
        if await self._holds_evictor_lease():
            assert self.consumer is not None
            gen = await self.consumer.applier.refresh_generation()
            await Evictor(self.redis, self.keys).run_once(gen)

    async def _selfcheck(self) -> None:
        assert self.consumer is not None
        gen = await self.consumer.applier.refresh_generation()
        check = SelfCheck(
            self.redis, self.keys, max_future_ms=self.settings.aggregator_max_future_ms
        )
        drift = await check.run_once(gen)
        await self.redis.hset(
            self.keys.aggregator_status(self.consumer.name),
            mapping={"drift_cents": drift.cents, "drift_other": drift.other},
        )

    async def _heartbeat(self) -> None:
        assert self.consumer is not None
        now = await scripts.server_ms(self.redis)
        name = self.consumer.name
        await self.lease.refresh()
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(
            self.keys.aggregator_status(name),
            mapping={
                "consumer": name,
                "token": self.token,
                "heartbeat_ms": now,
                **dict(self.consumer.counts.items()),
            },
        )
        pipe.zadd(self.keys.aggregator_consumers, {name: now})
        await pipe.execute()
