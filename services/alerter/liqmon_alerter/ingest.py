"""Match events to rules (Python) and judge them atomically in Redis (ingest.lua).

Python does what needs no shared state: which rules an event matches, the large alerts'
fields and ids, which cascade windows it feeds. ingest.lua does the rest in one atomic
step per event — freshness on Redis time, dedup by event id, the cascade windows and
episodes, the alert entries, the outbox entries and the XACK — so any number of replicas
and any crash leave the same state as one process that never stopped.

Why cascade state lives in Redis rather than being rebuilt from the stream on start:
windows are judged on event time and shared by replicas; a rebuild would have each replica
see only its own share of the events (the group splits them) and would have to replay the
window and cooldown span on every start. In Redis it is one hash per (rule, key), kept
exact in integer cents and expired once nothing in it can matter.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from liqmon import scripts
from liqmon.alert import ALERT_VERSION, alert_id
from liqmon.event import LiquidationEvent
from liqmon.keys import ALERTER_GROUP, Keys
from liqmon.logs import LogOnce

from .rules import CascadeRule, LargeRule, RulesFile

ALERTS_MAXLEN = 10_000
#: Margin on every expiry computed from max_age, for clock skew between venues and Redis.
MARGIN_MS = 120_000


@dataclass(frozen=True)
class Judged:
    status: str  # S stale, F future, D duplicate, A applied, "-" no rule, E script error
    fired: int


class Judge:
    def __init__(
        self, redis: Redis, keys: Keys, rules: RulesFile, *, max_age_ms: int, max_future_ms: int
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.rules = rules
        self.max_age_ms = max_age_ms
        self.max_future_ms = max_future_ms
        self.channels = [c.name for c in rules.channel]
        self._script = scripts.load(redis, __package__, "ingest")
        self._log_once = LogOnce(logging.getLogger(__name__))

    def _outboxes(self, names: list[str]) -> list[int]:
        """KEYS indexes (1-based) of these channels' outbox streams."""
        return [5 + self.channels.index(n) for n in names]

    def plan(self, sid: str, event: LiquidationEvent) -> tuple[list[str], list[str]] | None:
        """(KEYS, ARGV) of ingest.lua for this event, or None when no rule matches it."""
        large: list[dict[str, Any]] = []
        cascades: list[dict[str, Any]] = []
        cascade_keys: list[str] = []
        event_json = orjson.dumps(event.to_json_dict(sid)).decode()
        for rule in self.rules.rule:
            if not rule.matches(event.symbol, event.exchange, event.side):
                continue
            if isinstance(rule, LargeRule):
                if event.usd_cents >= rule.min_cents:
                    large.append(self._large(rule, event, event_json))
            else:
                spec, key = self._cascade(rule, event, 5 + len(self.channels) + len(cascade_keys))
                cascades.append(spec)
                cascade_keys.append(key)
        if not large and not cascades:
            return None
        keys = [
            self.keys.events,
            self.keys.alerter_seen(event.ts // 60_000),
            self.keys.alerts,
            self.keys.alerter_stats,
            *(self.keys.alerter_outbox(c) for c in self.channels),
            *cascade_keys,
        ]
        payload = {
            "max_age": self.max_age_ms,
            "future": self.max_future_ms,
            "seen_expire_at": (event.ts // 60_000 + 1) * 60_000 + self.max_age_ms + MARGIN_MS,
            "alerts_maxlen": ALERTS_MAXLEN,
            "ev": {"id": event.id, "ts": event.ts, "cents": event.usd_cents, "json": event_json},
            "large": large,
            "cascades": cascades,
        }
        return keys, [ALERTER_GROUP, sid, orjson.dumps(payload).decode()]

    def _large(self, rule: LargeRule, event: LiquidationEvent, event_json: str) -> dict[str, Any]:
        fields = {
            "v": ALERT_VERSION,
            "id": alert_id("large", rule.name, event.id),
            "rule": rule.name,
            "kind": "large",
            "channels": ",".join(rule.channels),
            "fired_at": "",  # Redis time, set by the script
            "ts": str(event.ts),
            "event": event_json,
        }
        flat = [x for pair in fields.items() for x in pair]
        return {"fields": flat, "outboxes": self._outboxes(rule.channels)}

    def _cascade(
        self, rule: CascadeRule, event: LiquidationEvent, key_index: int
    ) -> tuple[dict[str, Any], str]:
        coin = event.symbol if rule.per == "symbol" else ""
        ckey = f"{coin or '*'}|{event.side}"
        spec = {
            "key": key_index,
            "w": rule.window_s,
            "min": rule.min_cents,
            "cooldown": rule.cooldown_ms,
            "ttl": rule.window + rule.cooldown_ms + self.max_age_ms + MARGIN_MS,
            "rule": rule.name,
            "ckey": ckey,
            "outboxes": self._outboxes(rule.channels),
            "head": [ALERT_VERSION, rule.name, "cascade", ",".join(rule.channels)],
            "tail": [
                coin,
                rule.scope(event.symbol),
                event.side,
                rule.window_label(),
                str(rule.window_s),
            ],
        }
        return spec, self.keys.alerter_cascade(rule.name, ckey)

    async def judge(self, entries: Sequence[tuple[str, LiquidationEvent]]) -> list[Judged]:
        """Judge a batch: one pipelined round trip; entries no rule matches are acked."""
        pipe = self.redis.pipeline(transaction=False)
        order: list[int] = []
        unmatched: list[str] = []
        for index, (sid, event) in enumerate(entries):
            plan = self.plan(sid, event)
            if plan is None:
                unmatched.append(sid)
                continue
            keys, args = plan
            await self._script(keys=keys, args=args, client=pipe)
            order.append(index)
        if unmatched:
            pipe.xack(self.keys.events, ALERTER_GROUP, *unmatched)
        replies = await pipe.execute(raise_on_error=False) if len(pipe) else []
        out = [Judged("-", 0)] * len(entries)
        refused = []
        for index, reply in zip(order, replies, strict=False):
            if isinstance(reply, ResponseError):
                # e.g. a key of the wrong type. Redis keeps what the script wrote before
                # the error (its id is already marked seen: judging it again would only
                # find a duplicate), so it is acked, counted and logged once: one bad
                # entry must not stall every alert behind it
                sid = entries[index][0]
                self._log_once.warning(str(reply)[:60], "ingest refused %s: %s", sid, reply)
                refused.append(sid)
                out[index] = Judged("E", 0)
            else:
                out[index] = Judged(str(reply[0]), int(reply[1]))
        if unmatched and isinstance(replies[-1], Exception):
            raise replies[-1]  # the XACK failed: the history pass retries the batch
        if refused:
            pipe = self.redis.pipeline(transaction=False)
            pipe.xack(self.keys.events, ALERTER_GROUP, *refused)
            pipe.hincrby(self.keys.alerter_stats, "errors", len(refused))
            await pipe.execute()
        return out
