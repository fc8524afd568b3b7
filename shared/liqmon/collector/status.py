"""The collector's status hash and its connection-gap record.

Every `interval` seconds the status hash (`Keys.collector_status(exchange)`) is rewritten
with a TTL, so a dead collector's status disappears instead of looking healthy forever.
Field names are a contract with the web service (/api/health, dashboard): see
`CollectorStatus.fields`.

Gaps: a product's connection that is down from t0 to t1 leaves the sorted-set member
`"t0:t1"` with score t1 in `Keys.collector_gaps(exchange)` (trimmed to the stream retention)
once it is back; a window that overlaps a gap is incomplete. A gap still open is the hash's
`gap_open_since`. On shutdown the final status says the gap opened now, and the next start
inherits that value (if the hash has not expired yet) so a restart's outage is recorded too.
A planned rollover opens the new connection before closing the old one: no gap.

Outages the collector could not report (SIGKILL, or a stop longer than the hash's TTL) are
found through the durable `Keys.collector_alive` marker: the last ms at which this exchange
had a collector with every connection up. A start inherits a gap from the earlier of the
marker and the hash's `gap_open_since`. If the hash still says `connected`, that may be a
live replica (`docker compose --scale` shares the hash: no outage) or the run that was just
killed and restarted within the TTL (an outage): the inherited gap is *held* until another
collector refreshes the marker after our start (replica: gap dropped) or `confirm_ms` passes
without one (gap recorded). A collector holding a gap does not refresh the marker itself, so
two replicas restarting together both record it instead of vouching for each other.

`Keys.collector_first_start` is SET NX at the first connection ever made for the exchange.

Replicas share the status hash, so it cannot say which of them is alive, nor whether the
venue is connected (its `connected` is the last writer's): each publish also scores this
process (`<host>:<pid>`) in `Keys.collector_replicas` and, while every connection is up, in
`Keys.collector_replicas_connected`; the container healthcheck (its own host's members)
and `/api/health` read those. A clean stop removes the member; one not seen for a TTL is
dropped by the next publish of any replica.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from liqmon.clock import now_ms
from liqmon.collector.timing import wait_or_stop
from liqmon.collector.writer import REDIS_ERRORS
from liqmon.keys import Keys, replica_member

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class FeedState:
    product: str
    url: str
    connected: bool = False
    since: int = 0
    last_frame_ts: int = 0
    down_since: int = 0
    record_gap: bool = False  # False until the first connection (unless a gap was inherited)
    ever_connected: bool = False


@dataclass(slots=True)
class Counters:
    frames: int = 0
    errors: int = 0  # malformed frames or parts
    venue_errors: int = 0  # error events the venue sent
    reconnects: int = 0
    rollovers: int = 0
    last_error: str = ""
    last_frame_ts: int = 0


@dataclass(slots=True)
class Gauges:
    """Numbers owned by other parts, copied in before each publish."""

    events: int = 0
    last_event_ts: int = 0
    deadletters: int = 0
    buffered: int = 0
    buffer_dropped: int = 0
    duplicates: int = 0
    held: int = 0
    extra: dict[str, str] = field(default_factory=dict)


class CollectorStatus:
    def __init__(
        self,
        exchange: str,
        keys: Keys,
        *,
        retention_ms: int,
        ttl_seconds: int = 30,
        interval_seconds: float = 2.0,
        host: str | None = None,
    ) -> None:
        self.exchange = exchange
        #: this process in the replicas sets (a container's host name is its own; two
        #: processes on one machine are two replicas)
        self.replica = replica_member(host or socket.gethostname(), os.getpid())
        self._keys = keys
        self._retention_ms = retention_ms
        self._ttl = ttl_seconds
        self.started = now_ms()
        self.feeds: dict[str, FeedState] = {}
        self.counters = Counters()
        self.gauges = Gauges()
        self.since = self.started
        self._gaps: list[tuple[int, int]] = []
        #: A previous run's open gap, also given to feeds added before the first connect
        #: (venues whose connections depend on a REST listing add them after startup).
        self._inherited_gap: int | None = None
        #: A live replica refreshes the marker every interval: 3 intervals (at most the TTL)
        #: without a refresh after our start means nobody else was collecting.
        self.confirm_ms = int(min(3 * interval_seconds, ttl_seconds) * 1000)
        self._unconfirmed = False  # an inherited gap waits for the replica check
        self._held_gaps: list[tuple[int, int]] = []
        self.first_connect = 0  # ms of this run's first connection (for first-start)
        self._first_marked = False

    def add_feed(self, product: str, url: str) -> FeedState:
        state = FeedState(product, url, since=self.started, down_since=self.started)
        if self._inherited_gap is not None:
            state.down_since, state.record_gap = self._inherited_gap, True
        self.feeds[product] = state
        return state

    def remove_feed(self, product: str) -> None:
        """A connection the venue no longer needs (its topics moved or were delisted)."""
        self.feeds.pop(product, None)

    # --- transitions (called by the connection loops) ----------------------------------
    def connected(self, product: str) -> None:
        state, ts = self.feeds[product], now_ms()
        if state.record_gap:
            held = self._unconfirmed and not state.ever_connected
            _add_gap(self._held_gaps if held else self._gaps, state.down_since, ts)
        self.first_connect = self.first_connect or ts
        if state.ever_connected:
            self.counters.reconnects += 1
        state.connected, state.since, state.record_gap = True, ts, False
        state.ever_connected = True
        self._inherited_gap = None
        self.since = ts

    def disconnected(self, product: str, reason: str) -> None:
        state, ts = self.feeds[product], now_ms()
        if reason:
            self.counters.last_error = f"{product}: {reason}"[:500]
        if not state.connected:
            return
        state.connected, state.since, state.down_since, state.record_gap = False, ts, ts, True
        self.since = ts
        logger.warning("%s connection down: %s", product, reason)

    def inherit_gap(self, since_ms: int) -> None:
        """A previous run left a gap open at `since_ms`: record it on the first connect."""
        self._inherited_gap = since_ms
        for state in self.feeds.values():
            if not state.connected:
                state.down_since, state.record_gap = since_ms, True

    def frame(self, state: FeedState, ts: int) -> None:
        state.last_frame_ts = ts
        self.counters.last_frame_ts = ts
        self.counters.frames += 1

    # --- publishing ---------------------------------------------------------------------
    def gap_open_since(self) -> str:
        down = [s.down_since for s in self.feeds.values() if not s.connected]
        return str(min(down)) if down else ""

    def fields(self, *, final: bool = False) -> dict[str, str]:
        c, g, ts = self.counters, self.gauges, now_ms()
        connections = [
            {
                "product": s.product,
                "url": s.url,
                "connected": s.connected and not final,
                "since": s.since,
                "last_frame_ts": s.last_frame_ts,
            }
            for s in self.feeds.values()
        ]
        all_up = bool(self.feeds) and all(s.connected for s in self.feeds.values()) and not final
        return {
            "exchange": self.exchange,
            "connected": "1" if all_up else "0",
            "since": str(ts if final else self.since),
            "last_frame_ts": str(c.last_frame_ts),
            "last_event_ts": str(g.last_event_ts),
            "events": str(g.events),
            "frames": str(c.frames),
            "errors": str(c.errors),
            "venue_errors": str(c.venue_errors),
            "deadletters": str(g.deadletters),
            "reconnects": str(c.reconnects),
            "rollovers": str(c.rollovers),
            "last_error": c.last_error,
            "buffered": str(g.buffered),
            "buffer_dropped": str(g.buffer_dropped),
            "duplicates": str(g.duplicates),
            "held": str(g.held),
            "gap_open_since": str(ts) if final else self.gap_open_since(),
            "updated": str(ts),
            "started": str(self.started),
            "pid": str(os.getpid()),
            "connections": orjson.dumps(connections).decode(),
            **g.extra,
        }

    async def load_previous(self, redis: Redis) -> None:
        """Inherit an open gap from the previous run's status and the alive marker."""
        pipe = redis.pipeline(transaction=False)
        pipe.hmget(self._keys.collector_status(self.exchange), ["gap_open_since", "connected"])
        pipe.get(self._keys.collector_alive(self.exchange))
        try:
            (open_since, connected), alive = await pipe.execute()
        except REDIS_ERRORS as exc:
            logger.info("previous status not readable (%s)", exc)
            return
        since = [v for v in (_ms(open_since), _ms(alive)) if v is not None]
        if not since:
            return
        self.inherit_gap(min(since))
        self._unconfirmed = _text(connected) == "1"
        logger.info(
            "collection of %s last accounted for at %d%s",
            self.exchange,
            min(since),
            "; another collector may be live, checking" if self._unconfirmed else "",
        )

    async def publish(self, redis: Redis, *, final: bool = False) -> bool:
        key = self._keys.collector_status(self.exchange)
        if final and self._unconfirmed:  # no time left to check: record (the safe side)
            self._gaps += self._held_gaps
            self._held_gaps.clear()
        gaps, self._gaps = self._gaps, []
        fields = self.fields(final=final)
        alive_key = self._keys.collector_alive(self.exchange)
        pipe = redis.pipeline(transaction=False)
        pipe.get(alive_key)  # reply 0: did another collector refresh it since our start?
        pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
        pipe.expire(key, self._ttl)
        self._publish_replica(
            pipe, int(fields["updated"]), final=final, connected=fields["connected"] == "1"
        )
        if fields["connected"] == "1" and not self._unconfirmed:
            pipe.set(alive_key, fields["updated"])
        marking = bool(self.first_connect) and not self._first_marked
        if marking:
            first_key = self._keys.collector_first_start(self.exchange)
            pipe.set(first_key, self.first_connect, nx=True)
        if gaps:
            gap_key = self._keys.collector_gaps(self.exchange)
            pipe.zadd(gap_key, {f"{t0}:{t1}": t1 for t0, t1 in gaps})
            pipe.zremrangebyscore(gap_key, "-inf", now_ms() - self._retention_ms)
        try:
            replies = await pipe.execute()
        except REDIS_ERRORS as exc:
            self._gaps = gaps + self._gaps
            logger.debug("status publish failed: %s", exc)
            return False
        self._first_marked = self._first_marked or marking
        if self._unconfirmed:
            self._confirm(_ms(replies[0]))
        return True

    def _publish_replica(
        self, pipe: Pipeline, updated: int, *, final: bool, connected: bool
    ) -> None:
        """This host in the venue's replicas set, and in its connected set while every
        connection is up; a clean stop leaves both, a host silent for a TTL is dropped."""
        stale = updated - self._ttl * 1000
        everyone = self._keys.collector_replicas(self.exchange)
        up = self._keys.collector_replicas_connected(self.exchange)
        for key, member in ((everyone, not final), (up, connected and not final)):
            if member:
                pipe.zadd(key, {self.replica: updated})
                pipe.zremrangebyscore(key, "-inf", stale)
                pipe.expire(key, self._ttl)
            else:
                pipe.zrem(key, self.replica)

    def _confirm(self, alive: int | None) -> None:
        """Resolve a held inherited gap (see the module doc)."""
        if alive is not None and alive > self.started:
            logger.info("another %s collector is live: no outage before this start", self.exchange)
            self._held_gaps.clear()
            self._unconfirmed, self._inherited_gap = False, None
            for state in self.feeds.values():
                state.record_gap = state.record_gap and state.ever_connected
        elif now_ms() - self.started >= self.confirm_ms:
            self._gaps += self._held_gaps
            self._held_gaps.clear()
            self._unconfirmed = False

    async def run(
        self, redis: Redis, stop: asyncio.Event, interval: float, refresh: Callable[[], None]
    ) -> None:
        while True:
            refresh()
            await self.publish(redis)
            if await wait_or_stop(stop, interval):
                return


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _ms(value: object) -> int | None:
    text = _text(value)
    return int(text) if text.isdigit() else None


def _add_gap(gaps: list[tuple[int, int]], start: int, end: int) -> None:
    """Record a feed's gap; feeds that went down together (an inherited gap, a network
    outage) share its start, and the exchange's gap is their union: one gap, the latest end."""
    for i, (t0, t1) in enumerate(gaps):
        if t0 == start:
            gaps[i] = (t0, max(t1, end))
            return
    gaps.append((start, end))
