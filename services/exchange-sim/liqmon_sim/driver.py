"""The driver: turns a scenario (or a control request) into liquidations on the venues.

Work is organised in runs. Run 1 is the scenario itself (endless, or exactly
`total` liquidations when a finite run is configured). `start_run` replaces the main run
with a new finite one; `start_burst` adds a finite batch beside it. A finite run counts
only UNIQUE liquidations that reached at least one client (the ledger's definition), so
it keeps generating until exactly N are on the wire, then sets its `done` event. While a
venue has no live subscriber nothing is generated for it (an exchange's events do not
wait for you, but a test's ledger should only list what could be received).

Timing: arrivals are a Poisson process at the scenario's rate (each gap drawn at the rate of
the moment the arrival was due, so a pump behind schedule still owes a burst's arrivals
after the burst); at `math.inf` the driver
emits in chunks and waits while any client's write buffer is above `HIGH_WATER`, dropping a
client that stays above it for `SLOW_CLIENT_S`; at a finite rate the arrivals due go out in
turns at least `TICK_S` apart (one write per connection per turn), and a client with more
than `SLOW_CLIENT_BYTES` unsent is dropped (exchanges cut slow consumers too).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
from dataclasses import dataclass, field
from typing import Any

from liqmon.runtime import TaskSet
from liqmon_sim.catalog import Instrument, Venue
from liqmon_sim.faults import Faults
from liqmon_sim.ledger import Ledger
from liqmon_sim.malformed import kinds_for
from liqmon_sim.market import Market, pick_weighted
from liqmon_sim.scenarios.base import CLUSTER_MAX, RateFn, Scenario
from liqmon_sim.venues.base import VenueServer, now_ms
from liqmon_sim.venues.plugin import default_weights

logger = logging.getLogger(__name__)

HIGH_WATER = 1 << 20
SLOW_CLIENT_S = 10.0
SLOW_CLIENT_BYTES = 64 << 20
#: How often a finite-rate pump looks for such clients (each look walks every connection).
SLOW_CHECK_S = 0.1
CHUNK = 256
#: The finite-rate pump's shortest sleep: arrivals due meanwhile go out together (their
#: timestamps are when they are generated, so the tape's latency figure includes it).
TICK_S = 0.005


@dataclass
class Run:
    id: int
    total: int | None  # None = endless
    rate: RateFn
    venues: tuple[Venue, ...]
    instrument: Instrument | None = None
    faults: Faults | None = None  # None = the driver's current faults
    scaled: bool = True  # multiply rate by the simulator's rate multiplier
    done: asyncio.Event = field(default_factory=asyncio.Event)
    generated: int = 0
    #: The pump's clock (loop time) when it started, the origin of `rate`'s t; and when
    #: its next arrival is due: a pump behind its schedule (a burst it cannot meet at
    #: once) has it in the past. `next_due` is None while the pump generates nothing at a
    #: finite rate (paused, no audience, a zero or endless rate, all generated, stopped).
    started: float | None = None
    next_due: float | None = None

    def describe(self, ledger: Ledger, in_flight: int, now: float) -> dict[str, Any]:
        """The run's counts; with `now` on the loop's clock, where it is on its schedule
        (`elapsed_s`, `rate`'s t: a bench aligns its window to a scenario's period with
        it) and how far behind it is (`behind_s`)."""
        totals = ledger.run_totals(self.id)
        return {
            "id": self.id,
            "total": self.total,
            "generated": self.generated,
            "elapsed_s": None if self.started is None else round(now - self.started, 3),
            "behind_s": 0.0 if self.next_due is None else round(max(0.0, now - self.next_due), 3),
            "emitted": totals.count,
            "in_flight": in_flight,
            "done": self.done.is_set(),
            "venues": list(self.venues),
            "instrument": self.instrument.inst_id if self.instrument else None,
        }


class Driver:
    def __init__(
        self,
        scenario: Scenario,
        market: Market,
        venues: dict[Venue, VenueServer],
        ledger: Ledger,
        seed: int,
        rate_multiplier: float = 1.0,
        faults: Faults | None = None,
    ) -> None:
        self.scenario = scenario
        self.market = market
        self.venues = venues
        self.servers = list(dict.fromkeys(venues.values()))  # one server may serve two venues
        self.ledger = ledger
        self.rng = random.Random(seed)  # what liquidations look like
        self.fault_rng = random.Random(seed * 7919 + 1)  # which frames misbehave
        self.rate_multiplier = rate_multiplier
        self.faults = faults or scenario.faults
        self.paused = asyncio.Event()  # set = generation paused
        self.runs: dict[int, Run] = {}
        self.main: Run | None = None
        self.tasks = TaskSet()
        self._pumps: dict[int, asyncio.Task[None]] = {}
        self._next_id = 1
        self._cum_cache: dict[tuple[Venue, ...], list[float]] = {}

    # --- runs -----------------------------------------------------------------------

    def _new_run(
        self,
        total: int | None,
        rate: RateFn,
        venues: tuple[Venue, ...] | None,
        instrument: Instrument | None,
        faults: Faults | None,
        scaled: bool,
    ) -> Run:
        run = Run(
            self._next_id, total, rate, venues or tuple(self.venues), instrument, faults, scaled
        )
        self._next_id += 1
        self.runs[run.id] = run
        self._pumps[run.id] = self.tasks.spawn(self._pump(run), name=f"sim.run{run.id}")
        return run

    def start_main(self, total: int | None, rate: float | None = None) -> Run:
        """Start (or replace) the main run: the scenario's rate unless `rate` is given."""
        if self.main is not None:
            pump = self._pumps.pop(self.main.id, None)
            if pump is not None:
                pump.cancel()
        rate_fn: RateFn = self.scenario.rate if rate is None else (lambda _t: rate)
        self.main = self._new_run(total, rate_fn, None, None, None, scaled=rate is None)
        return self.main

    def start_burst(
        self,
        n: int,
        rate: float = math.inf,
        venues: tuple[Venue, ...] | None = None,
        instrument: Instrument | None = None,
        faults: Faults | None = None,
    ) -> Run:
        return self._new_run(n, lambda _t: rate, venues, instrument, faults, scaled=False)

    def in_flight(self, run: Run) -> int:
        return sum(v.pending_count(run.id) for v in self.servers)

    async def wait_done(self, run_id: int | None = None) -> Run:
        run = self.runs[run_id] if run_id is not None else self.main
        if run is None or run.total is None:
            raise ValueError("the run is endless; configure a total (finite run) first")
        await run.done.wait()
        return run

    # --- the pump -------------------------------------------------------------------

    async def _pump(self, run: Run) -> None:
        try:
            await self._pump_turns(run)
        finally:  # done, or replaced: nothing is owed any more
            run.next_due = None

    async def _pump_turns(self, run: Run) -> None:
        loop = asyncio.get_running_loop()
        started = run.started = loop.time()
        next_due: float | None = None
        next_check = started
        while True:
            if run.total is not None:
                remaining = run.total - self.ledger.run_count(run.id) - self.in_flight(run)
                if remaining <= 0:
                    if self.ledger.run_count(run.id) >= run.total:
                        run.done.set()
                        logger.info("run %d done: %d liquidations emitted", run.id, run.total)
                        return
                    run.next_due = None  # all generated: what is left is in flight
                    await asyncio.sleep(0.005)  # waiting for sampled/batched ones to go out
                    continue
            else:
                remaining = CHUNK
            if self.paused.is_set():
                await asyncio.sleep(0.02)
                next_due = run.next_due = None  # not behind: not generating
                continue
            audience = [v for v in run.venues if self.venues[v].has_audience_for(v)]
            if not audience:
                await self._audience_change(run)
                next_due = run.next_due = None  # not behind: not generating
                continue
            shares = self._cum_weights(audience)  # once per turn, not per arrival
            scale = self.rate_multiplier if run.scaled else 1.0
            rate = run.rate(loop.time() - started) * scale
            if rate <= 0:
                await asyncio.sleep(0.05)
                next_due = run.next_due = None  # not behind: not generating
                continue
            if math.isinf(rate):
                next_due = run.next_due = None  # paced by the sockets, not by a schedule
                before = self.ledger.run_count(run.id) + self.in_flight(run)
                for _ in range(min(CHUNK, remaining)):
                    remaining -= self._generate(run, audience, shares, remaining)
                    if remaining <= 0:
                        break
                if self.ledger.run_count(run.id) + self.in_flight(run) == before:
                    # everything landed in already-full sampling slots (one symbol, 1000 ms
                    # rule): nothing gets out faster by spinning
                    await asyncio.sleep(0.05)
                await self._backpressure()
                continue
            now = loop.time()
            if next_due is None:
                next_due = now + self.rng.expovariate(rate)
            # at most CHUNK per turn: a pump that fell behind (a loaded machine) catches up
            # in turns, and the loop keeps serving clients and /_sim requests meanwhile
            behind = True
            for _ in range(CHUNK):
                if next_due > now:
                    behind = False
                    break
                if remaining <= 0:
                    # the turn's budget is spent while arrivals are still due: `behind` stays
                    # set, so the next turn comes at once (CHUNK counts liquidations, and a
                    # cluster is several: treating this as caught up slept TICK_S after every
                    # ~150 arrivals, which capped a catch-up below a crash's mean rate)
                    break
                remaining -= self._generate(run, audience, shares, remaining)
                # the gap at the rate of the moment the arrival was DUE, not of now: a pump
                # that falls behind in a burst still owes the burst's arrivals afterwards
                # (re-spaced at the base rate, most of a burst it could not meet was lost)
                due_rate = run.rate(next_due - started) * scale
                next_due += self.rng.expovariate(due_rate if due_rate > 0 else rate)
            run.next_due = next_due
            if now >= next_check:  # a sweep of every connection: not every 5 ms turn
                next_check = now + SLOW_CHECK_S
                await self._drop_hopeless()
            # caught up: wake again when the next one is due, but not sooner than TICK_S, so
            # at thousands per second each connection gets its frames in one write per turn
            # rather than one syscall (and one loop turn) per liquidation
            delay = next_due - loop.time()
            await asyncio.sleep(0.0 if behind else max(TICK_S, min(delay, 0.05)))

    async def _audience_change(self, run: Run) -> None:
        waits = [asyncio.ensure_future(self.venues[v].audience_changed.wait()) for v in run.venues]
        try:
            await asyncio.wait(waits, timeout=0.25, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def _drop_hopeless(self) -> None:
        """At a fixed rate nobody waits for a client; one that lets `SLOW_CLIENT_BYTES` pile
        up is cut off, as an exchange cuts a consumer that cannot keep up."""
        for server in self.servers:
            for conn in [c for c in server.conns if c.live and c.buffered() > SLOW_CLIENT_BYTES]:
                server.stats["slow_client_drops"] += 1
                with contextlib.suppress(Exception):
                    await conn.drop("drop")

    async def _backpressure(self) -> None:
        loop = asyncio.get_running_loop()
        since = loop.time()
        while True:
            worst = max(self.servers, key=lambda v: v.max_buffered())
            if worst.max_buffered() <= HIGH_WATER:
                await asyncio.sleep(0)
                return
            if loop.time() - since > SLOW_CLIENT_S:
                for conn in [c for c in worst.conns if c.live and c.buffered() > HIGH_WATER]:
                    worst.stats["slow_client_drops"] += 1
                    with contextlib.suppress(Exception):
                        await conn.drop("drop")
                return
            await asyncio.sleep(0.001)

    def _cum_weights(self, audience: list[Venue]) -> list[float]:
        """The cumulative venue shares over `audience`, built once per audience (it changes
        only when clients come and go): per liquidation this was the pump's largest cost."""
        key = tuple(audience)
        cum = self._cum_cache.get(key)
        if cum is None:
            shares = self.scenario.venue_weights or default_weights()
            cum = list(itertools.accumulate(shares.get(v, 0.0) or 1e-9 for v in audience))
            self._cum_cache[key] = cum
        return cum

    def _generate(self, run: Run, audience: list[Venue], shares: list[float], budget: int) -> int:
        """Generate one liquidation (plus its cluster) on a venue of `audience` drawn by its
        cumulative `shares` (`_cum_weights`); returns how many will count."""
        rng, frng = self.rng, self.fault_rng
        faults = run.faults or self.faults
        if run.instrument is not None:
            venue: Venue = run.instrument.venue
            inst = run.instrument
        else:
            venue = pick_weighted(rng, audience, shares)
            inst = self.market.pick(rng, venue)
        server = self.venues[venue]
        size = 1
        if budget > 1 and rng.random() < self.scenario.cluster_prob:
            size += rng.randint(1, min(CLUSTER_MAX, budget - 1))
        counted = 0
        now = now_ms()
        for _ in range(size):
            late = 0
            if venue == "okx":
                if frng.random() < faults.okx_late_fraction:
                    late = faults.okx_late_ms + frng.randrange(1000)
                elif frng.random() < faults.okx_out_of_order_fraction:
                    late = frng.randrange(max(1, faults.okx_out_of_order_ms))
            liq = self.market.make(rng, inst, now, late_ms=late)
            liq.run = run.id
            run.generated += 1
            if faults.malformed_fraction and frng.random() < faults.malformed_fraction:
                kind = frng.choice(kinds_for(venue, faults.malformed_kinds))
                server.send_malformed(liq, kind, frng)
            else:
                server.submit(liq)
                counted += 1
            if faults.duplicate_fraction and frng.random() < faults.duplicate_fraction:
                server.resend(frng, run.id)
        return counted

    # --- periodic faults ------------------------------------------------------------

    async def disconnector(self) -> None:
        """`disconnect_every_s`: drop every client of every venue on a timer."""
        while True:
            every = self.faults.disconnect_every_s
            await asyncio.sleep(every if every > 0 else 1.0)
            if self.faults.disconnect_every_s > 0:
                for server in self.servers:
                    await server.drop_all("drop")

    async def close(self) -> None:
        await self.tasks.cancel_all()
