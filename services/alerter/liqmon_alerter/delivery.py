"""One channel's delivery: its own outbox stream, its own worker, its own retries.

Each channel has a durable queue (its outbox stream, filled by ingest.lua in the same
step that fires the alert) and, in every alerter process, one worker reading it through
the `alerter` group. A worker sends one alert at a time (the order alerts fired), so a
channel that is slow, rate-limited or down holds up only itself.

Once per channel: before the HTTP request the worker takes the (alert, channel) claim
(delivery.lua), and records `sent` right after the 2xx. Another replica, a restart or a
redelivered entry finds the claim and does not send. The one unavoidable repeat: a process
killed after the service accepted the request and before `sent` was recorded; the lease
then expires (or the same consumer name restarts) and the alert is sent once more — one
repeat per channel per such crash, never more (docs/ALERTS.md).

Retries: 429 waits what the service asked (Telegram `parameters.retry_after`, Discord
`retry_after`, `Retry-After`); 5xx, 408, timeouts and transport errors back off
exponentially (base, doubling, capped, with jitter); any other 4xx is dead-lettered with
the service's reason. An alert still not delivered `give_up` after it fired is
dead-lettered: a page about a liquidation a quarter of an hour old helps no one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

import httpx
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from liqmon import scripts
from liqmon.alert import alert_document
from liqmon.backoff import Backoff
from liqmon.clock import now_ms
from liqmon.consumer_group import Entry
from liqmon.keys import ALERTER_GROUP, Keys
from liqmon.logs import LogOnce
from liqmon.runtime import wait_or_stop

from .channels import AnyChannel, Outcome, attempt
from .redact import Redactor

logger = logging.getLogger(__name__)

CLAIM_TTL_MS = 48 * 3_600_000
DEADLETTER_MAXLEN = 1000


@dataclass(frozen=True)
class RetryPolicy:
    base_ms: int
    cap_ms: int
    give_up_ms: int
    lease_ms: int

    def backoff_s(self, attempt_no: int) -> float:
        """Exponential, capped, with ±25 % jitter (replicas retrying together spread out)."""
        delay: float = min(self.cap_ms, self.base_ms * 2 ** max(0, attempt_no - 1)) / 1000
        return delay * random.uniform(0.75, 1.25)


class ChannelWorker:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        channel: AnyChannel,
        *,
        consumer: str,
        owner: str,
        client: httpx.AsyncClient,
        telegram_api: str,
        policy: RetryPolicy,
        redactor: Redactor,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.channel = channel
        self.consumer = consumer
        self.owner = owner
        self.client = client
        self.telegram_api = telegram_api
        self.policy = policy
        self.redact = redactor
        self._script = scripts.load(redis, __package__, "delivery")
        self.outbox = keys.alerter_outbox(channel.name)
        self._log_once = LogOnce(logger)

    async def _op(
        self, op: str, alert: str, entry_id: str = "", reason: str = "", lease_ms: int = 0
    ) -> str:
        keys = [
            self.keys.alerter_sent(self.channel.name, alert),
            self.outbox,
            self.keys.alerter_channel(self.channel.name),
            self.keys.alerter_deadletter,
        ]
        lease = lease_ms or self.policy.lease_ms
        args: list[str | int] = [
            op, self.owner, self.consumer, lease, entry_id, ALERTER_GROUP,
            self.redact(reason)[:300], alert, CLAIM_TTL_MS, self.channel.name, DEADLETTER_MAXLEN,
        ]  # fmt: skip
        return str(await self._script(keys=keys, args=args))

    async def handle(self, entries: list[Entry], stop: asyncio.Event) -> None:
        for entry_id, fields in entries:
            if stop.is_set():
                return
            if not fields or not fields.get("id"):  # deleted while pending: nothing to send
                pipe = self.redis.pipeline(transaction=False)
                pipe.xack(self.outbox, ALERTER_GROUP, entry_id)
                pipe.xdel(self.outbox, entry_id)
                await pipe.execute()
                continue
            try:
                await self._deliver(entry_id, fields, stop)
            except RedisError:
                raise  # the reader backs off and re-reads our pending entries
            except Exception as exc:  # a bug must not end this channel's deliveries
                text = self.redact(f"{type(exc).__name__}: {exc}")
                self._log_once.warning(text[:60], "%s: delivering %s failed: %s",
                                       self.channel.name, entry_id, text)  # fmt: skip

    async def _deliver(self, entry_id: str, fields: dict[str, str], stop: asyncio.Event) -> None:
        alert = fields["id"]
        claim = await self._op("claim", alert, entry_id)
        if claim in ("done", "busy"):
            return
        if claim == "takeover":
            logger.warning(
                "%s: taking over alert %s from a stopped owner; it may be sent a second time",
                self.channel.name, alert,
            )  # fmt: skip
        doc = alert_document(fields)
        fired_at = int(fields.get("fired_at") or now_ms())
        tries = 0
        while True:
            tries += 1
            outcome = await attempt(self.client, self.channel, doc, self.telegram_api)
            if outcome.kind == "sent":
                await self._record("sent", alert, entry_id)
                logger.info("%s: sent alert %s (%s)", self.channel.name, alert, fields.get("rule"))
                return
            if outcome.kind == "dead":
                await self._dead(alert, entry_id, outcome.reason)
                return
            delay = self._delay(outcome, tries)
            if now_ms() + delay * 1000 > fired_at + self.policy.give_up_ms:
                await self._dead(
                    alert, entry_id, f"gave up after {tries} attempts: {outcome.reason}"
                )
                return
            await self._op("retry", alert, entry_id, outcome.reason)
            logger.info(
                "%s: alert %s attempt %d failed (%s); retry in %.2fs",
                self.channel.name, alert, tries, self.redact(outcome.reason), delay,
            )  # fmt: skip
            # hold the lease through the wait, so no replica takes the alert meanwhile
            lease = int(delay * 1000) + self.policy.lease_ms
            if await self._op("extend", alert, entry_id, lease_ms=lease) == "lost":
                return
            await wait_or_stop(stop, delay)
            if stop.is_set():
                await self._op("release", alert, entry_id)  # not sent: stays pending
                return
            if await self._op("extend", alert, entry_id) == "lost":
                return

    def _delay(self, outcome: Outcome, tries: int) -> float:
        if outcome.retry_after is not None:
            return outcome.retry_after
        return self.policy.backoff_s(tries)

    async def _record(self, op: str, alert: str, entry_id: str, reason: str = "") -> None:
        """Record `sent` / `dead`, retrying while Redis is unreachable: sending the alert
        again because its record failed would be a repeat without any crash."""
        backoff = Backoff(0.1, 5.0, jitter=0.5)
        while True:
            try:
                await self._op(op, alert, entry_id, reason)
                return
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                self._log_once.warning("record", "recording %s failed (%s); retrying", op, exc)
                await asyncio.sleep(backoff.next())

    async def _dead(self, alert: str, entry_id: str, reason: str) -> None:
        await self._record("dead", alert, entry_id, reason)
        logger.warning(
            "%s: alert %s dead-lettered: %s", self.channel.name, alert, self.redact(reason)
        )
