"""The summary on the event stream: pushed to every client when it changes, coalesced.

A client should see an event in its totals within 100 ms, and a process should pay the
same per client whatever the number of clients. So:

- While anyone is watching (a stream client, or an /api/summary request in the last
  `ACTIVE_S`), the feed polls the aggregator's change token: one tiny pipelined round trip
  (snapshots.read_change_token). Every `POLL_S` (10 ms) while events are arriving (this
  process's stream reader saw one in the last `FLOWING_S`), since only then can the
  aggregator be applying them; every `IDLE_POLL_S` otherwise (an eviction or a rebuild
  changes the windows too, but no event is waiting to be seen). A quiet market costs
  four round trips a second, and the feed sleeps between them: the stream reader wakes
  it when an event arrives (`Broadcaster.arrived`), so the first event after a quiet
  spell is polled for at once.
- When the token moved, the summary is read at once (in the token's generation: no
  second look-up), serialized once, wrapped in ONE SSE frame and handed to every client's
  one-slot box (latest wins), written with the client's events at the broadcaster's next
  tick (broadcaster.py: at most one tick later). Pushes are spaced by `push_spacing`: at least
  `web_summary_push_ms` (20 ms), and `PER_CLIENT_S` (100 µs) per stream client up to
  `MAX_SPACING_S` (50 ms), so the summary's fan-out stays under ~10,000 client writes a
  second whatever the number of clients, while a handful of dashboards see a change
  within ~20 ms. After a push the feed sleeps the spacing out before polling again (a
  poll then could not push anything): a steady flow of events costs one poll and one
  read per push.
- With no change it is still pushed once a second (`REFRESH_S`): a collector's outage
  flags the windows without the aggregator, and clients treat a silent stream as dead.
- Nobody watching: no Redis traffic at all; the feed sleeps (4 wake-ups a second) until
  an event or a new stream client wakes it.

The read also refreshes the `/api/summary` cache for the stream's `top`, so REST clients
get the same bytes the stream just sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from redis.exceptions import RedisError

from liqmon.logs import LogOnce
from liqmon_web.broadcaster import Broadcaster
from liqmon_web.snapshots import ChangeToken, SummaryCache
from liqmon_web.sse_frames import sse_frame

logger = logging.getLogger(__name__)

#: The stream's summary carries this many coins per ranking (as /api/summary's default).
SSE_SUMMARY_TOP = 10
#: A summary is pushed at least this often, changed or not.
REFRESH_S = 1.0
#: An /api/summary request keeps the token polled for this long.
ACTIVE_S = 10.0
#: Token poll period while events arrive, and while they do not.
POLL_S = 0.01
IDLE_POLL_S = 0.25
#: Events read this recently mean the aggregator may be applying some.
FLOWING_S = 2.0
#: Push spacing per stream client (one summary frame write each, ~10-20 µs), and its cap.
PER_CLIENT_S = 100e-6
MAX_SPACING_S = 0.05


class SummaryFeed:
    def __init__(self, cache: SummaryCache, broadcaster: Broadcaster, push_ms: int) -> None:
        self.cache = cache
        self.broadcaster = broadcaster
        self.push_s = push_ms / 1000
        self.poll_s = min(POLL_S, self.push_s)
        self._log_once = LogOnce(logger)
        self.pushes = 0
        self.errors = 0

    def push_spacing(self) -> float:
        """Seconds between pushes: the configured floor, more with many clients (capped;
        never below the floor, so a floor of a second stays a second)."""
        scaled = min(MAX_SPACING_S, self.broadcaster.clients * PER_CLIENT_S)
        return max(self.push_s, scaled)

    def active(self) -> bool:
        requested = time.monotonic() - self.cache.requested_at < ACTIVE_S
        return self.broadcaster.watching() or requested

    async def _pause(self, pushed_at: float, flowing: bool) -> None:
        """Until the next token poll is worth making. Events arriving while someone
        watches: one poll period, and not before the push spacing is over (a change seen
        then could not go out yet). Otherwise until an idle poll is due (nobody watching:
        an idle period), or at once when the stream reader sees an event or a client
        subscribes (`Broadcaster.arrived`): the first event after a quiet spell, or a new
        dashboard, is not kept waiting, and a quiet process does not wake every poll."""
        now = time.monotonic()
        active = self.active()
        if active and flowing:
            await asyncio.sleep(max(self.poll_s, pushed_at + self.push_spacing() - now))
            return
        arrived = self.broadcaster.arrived
        arrived.clear()
        due_in = (
            max(self.poll_s, self.cache.token_at + IDLE_POLL_S - now) if active else IDLE_POLL_S
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), due_in)

    async def run(self) -> None:
        pushed: ChangeToken | None = None
        pushed_at = 0.0
        events_read, flowed_at = self.broadcaster.events_read, -FLOWING_S
        while not self.broadcaster.stopping.is_set():
            await self._pause(pushed_at, time.monotonic() - flowed_at < FLOWING_S)
            if events_read != self.broadcaster.events_read:
                events_read, flowed_at = self.broadcaster.events_read, time.monotonic()
            flowing = time.monotonic() - flowed_at < FLOWING_S
            idle_poll_due = time.monotonic() - self.cache.token_at >= IDLE_POLL_S
            if not self.active() or not (flowing or idle_poll_due):
                continue
            try:
                token = await self.cache.poll_token()
                now = time.monotonic()
                due = token != pushed or now - pushed_at >= REFRESH_S
                if not (due and self.broadcaster.watching()):
                    continue
                body = await self.cache.refresh(SSE_SUMMARY_TOP, token)
            except (RedisError, OSError, TimeoutError) as exc:
                self.errors += 1
                self._log_once.warning("summary", "summary read failed: %s", exc)
                await asyncio.sleep(REFRESH_S)
                continue
            pushed, pushed_at = self.cache.cached_token(SSE_SUMMARY_TOP), now
            self.broadcaster.publish_summary(sse_frame("summary", None, body))
            self.pushes += 1
