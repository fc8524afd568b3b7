"""Venues that publish a sample: the latest liquidation per instrument per period.

Binance ("for each symbol, only the latest one liquidation order within 1000 ms will be
pushed") and Gate ("each contract can push up to one liquidate order data every 1 second")
both throttle their feeds this way. A liquidation waits in its instrument's slot and is
pushed on the next period boundary of the wall clock; one replaced in its slot before that
is recorded as suppressed (never emitted, so it never counts). A period of 0 pushes each
liquidation at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.venues.base import VenueServer, now_ms


class SampledServer(VenueServer):
    def __init__(self, ledger: Ledger) -> None:
        super().__init__(ledger)
        self.pending: dict[str, Liquidation] = {}

    def sampling_ms(self) -> int:
        """The current period (a control action may change it while running)."""
        raise NotImplementedError

    def _push(self, liq: Liquidation, push_ms: int) -> None:
        """Put one liquidation on the wire (and record it in the ledger)."""
        raise NotImplementedError

    def pending_count(self, run: int | None = None) -> int:
        if run is None:
            return len(self.pending)
        return sum(1 for liq in self.pending.values() if liq.run == run)

    def submit(self, liq: Liquidation) -> None:
        if self.sampling_ms() <= 0:
            self._push(liq, now_ms())
            return
        old = self.pending.get(liq.inst.inst_id)
        if old is not None:
            self.ledger.record_suppressed(old, run=old.run, now_ms=now_ms())
            self.stats["suppressed"] += 1
        self.pending[liq.inst.inst_id] = liq

    def background(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [(f"{self.name}.flusher", self.flusher())]

    async def flusher(self) -> None:
        """Push the sampled slots on every period boundary of the wall clock."""
        while True:
            period = self.sampling_ms()
            now = now_ms()
            if period <= 0:
                self.flush(now)
                await asyncio.sleep(0.05)
                continue
            boundary = (now // period + 1) * period
            await asyncio.sleep((boundary - now) / 1000)
            self.flush(boundary)

    def flush(self, push_ms: int) -> None:
        """Push every slot whose liquidation happened by `push_ms` (later ones wait: the
        flusher can wake a little after the boundary)."""
        pending, self.pending = self.pending, {}
        for name, liq in pending.items():
            if liq.ts <= push_ms:
                self._push(liq, push_ms)
            else:
                self.pending[name] = liq
