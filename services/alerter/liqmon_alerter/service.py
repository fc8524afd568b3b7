"""The alerter service: the event consumer, one delivery worker per channel, a heartbeat.

Consumer names are stable so a restarted process finds its own pending entries
(liqmon.consumer_slot): LIQMON_ALERTER_CONSUMER as is (one per process!), or the lowest free
leased slot `alert-1`, `alert-2`, …. A delivery lease held by an earlier instance of the
same name is taken over at once (that instance is dead), so a restart resumes at once.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from liqmon import scripts
from liqmon.consumer_group import Entry, GroupMember, GroupReader, ensure_group
from liqmon.consumer_slot import SlotLease, owner_token
from liqmon.event import InvalidEvent, LiquidationEvent
from liqmon.keys import ALERTER_GROUP
from liqmon.logs import LogOnce
from liqmon.redis_client import create_redis, wait_for_redis
from liqmon.runtime import TaskSet, every

from .channels import USER_AGENT
from .delivery import ChannelWorker, RetryPolicy
from .ingest import Judge
from .redact import Redactor
from .rules import RulesFile
from .settings import AlerterSettings

logger = logging.getLogger(__name__)

HEARTBEAT_S = 5.0
FORGET_AFTER_MS = 86_400_000


class AlerterService:
    name = "alerter"

    def __init__(self, settings: AlerterSettings, rules: RulesFile) -> None:
        self.settings = settings
        self.rules = rules
        self.keys = settings.keys
        self.redact = Redactor(rules.secret_values())
        self.redis = create_redis(settings.redis_url, name="liqmon-alerter")
        # one blocking XREADGROUP per channel worker plus the event consumer
        self.reader = create_redis(
            settings.redis_url,
            socket_timeout=settings.alerter_block_ms / 1000 + 5.0,
            max_connections=len(rules.channel) + 4,
            name="liqmon-alerter-reader",
        )
        self.token = owner_token()
        self.lease = SlotLease(
            self.redis, self.keys.alerter_consumer_slot, "alert-", self.token,
            settings.alerter_lease_ms,
        )  # fmt: skip
        self.consumer = ""
        self.tasks = TaskSet()
        self.clients: list[httpx.AsyncClient] = []
        self._log_once = LogOnce(logger)
        self.judge: Judge | None = None
        self.events_start = "0"

    def _reader(self, stream: str, start_id: str = "0") -> GroupReader:
        s = self.settings
        member = GroupMember(stream, ALERTER_GROUP, self.consumer, s.alerter_batch)
        return GroupReader(
            self.redis, self.reader, member, s.alerter_block_ms, s.alerter_claim_idle_ms,
            s.alerter_janitor_ms, start_id,
        )  # fmt: skip

    async def startup(self) -> None:
        s = self.settings
        await wait_for_redis(self.redis)
        self.consumer = s.alerter_consumer or await self.lease.acquire()
        # a new group starts max_age back: older events could not alert anyway
        start = await scripts.server_ms(self.redis) - s.alerts_max_age
        self.events_start = f"{max(start, 0)}-0"
        await ensure_group(self.redis, self.keys.events, ALERTER_GROUP, self.events_start)
        for channel in self.rules.channel:
            outbox = self.keys.alerter_outbox(channel.name)
            await ensure_group(self.redis, outbox, ALERTER_GROUP, "0")
        # the channels of the running rules file (a channel removed from it leaves health)
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.keys.alerter_channels)
        pipe.hset(self.keys.alerter_channels, mapping={c.name: c.type for c in self.rules.channel})
        await pipe.execute()
        self.judge = Judge(
            self.redis, self.keys, self.rules,
            max_age_ms=s.alerts_max_age, max_future_ms=s.alerts_max_future,
        )  # fmt: skip
        logger.info(
            "alerting as %s: %d rule(s), channels %s",
            self.consumer, len(self.rules.rule),
            ", ".join(f"{c.name} ({c.type})" for c in self.rules.channel),
        )  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        policy = RetryPolicy(
            s.alerter_retry_base_ms, s.alerter_retry_cap_ms, s.alerter_give_up,
            s.alerter_send_lease_ms,
        )  # fmt: skip
        owner = f"{self.consumer}/{self.token}"
        workers = []
        for channel in self.rules.channel:
            client = httpx.AsyncClient(
                timeout=s.alerter_http_timeout_s, headers={"User-Agent": USER_AGENT}
            )
            self.clients.append(client)
            worker = ChannelWorker(
                self.redis, self.keys, channel, consumer=self.consumer, owner=owner,
                client=client, telegram_api=s.telegram_api_url, policy=policy,
                redactor=self.redact,
            )  # fmt: skip

            async def handle(entries: list[Entry], worker: ChannelWorker = worker) -> None:
                await worker.handle(entries, stop)

            reader = self._reader(worker.outbox)
            workers.append(self.tasks.spawn(reader.run(stop, handle), f"deliver.{channel.name}"))
        self.tasks.spawn(every(stop, HEARTBEAT_S, self._heartbeat, "heartbeat"), "heartbeat")
        await self._reader(self.keys.events, self.events_start).run(stop, self._judge)
        # let a request in flight finish and be recorded (the runtime bounds this wait):
        # cancelling it after the service accepted it would be the one repeat case
        await asyncio.wait(workers)

    async def _judge(self, entries: list[Entry]) -> None:
        assert self.judge is not None
        good: list[tuple[str, LiquidationEvent]] = []
        skip: list[str] = []
        for sid, fields in entries:
            if not fields:  # trimmed while pending
                skip.append(sid)
                continue
            try:
                good.append((sid, LiquidationEvent.from_fields(fields)))
            except (InvalidEvent, ValueError) as exc:
                # the aggregator dead-letters malformed entries; here they are only skipped
                self._log_once.warning(str(exc)[:60], "skipping malformed entry %s: %s", sid, exc)
                skip.append(sid)
        if skip:
            await self.redis.xack(self.keys.events, ALERTER_GROUP, *skip)
        if good:
            judged = await self.judge.judge(good)
            fired = sum(j.fired for j in judged)
            if fired:
                logger.info("%d alert(s) fired", fired)

    async def _heartbeat(self) -> None:
        now = await scripts.server_ms(self.redis)
        await self.lease.refresh()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.keys.alerter_consumers, {self.consumer: now})
        # names not seen for a day are forgotten (health lists the recently dead ones)
        pipe.zremrangebyscore(self.keys.alerter_consumers, "-inf", now - FORGET_AFTER_MS)
        await pipe.execute()

    async def shutdown(self) -> None:
        await self.tasks.cancel_all()
        for client in self.clients:
            await client.aclose()
        try:
            # a clean stop leaves no heartbeat: health flags only an alerter that died
            if self.consumer:
                await self.redis.zrem(self.keys.alerter_consumers, self.consumer)
            await self.lease.release()
        except Exception as exc:  # shutting down: report, do not mask the exit
            logger.warning("releasing the consumer slot failed: %s", exc)
        await self.reader.aclose()
        await self.redis.aclose()
