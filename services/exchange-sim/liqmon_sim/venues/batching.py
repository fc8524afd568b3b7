"""Venues that push in batches: whatever liquidations arrive within `batch_ms` go out
together on the next flush (OKX, Bybit, Deribit). A period of 0 pushes each liquidation at
once, as it is submitted.
"""

from __future__ import annotations

import asyncio

from liqmon_sim.market import Liquidation
from liqmon_sim.venues.base import VenueServer

#: the shortest flush period, so a tiny `batch_ms` cannot spin the event loop
MIN_PERIOD_MS = 20


class BatchedServer(VenueServer):
    def batch_ms(self) -> int:
        """The push period (the venue's option; 0 = no batching)."""
        raise NotImplementedError

    def _queue(self, liq: Liquidation) -> None:
        """Add one liquidation to the next batch."""
        raise NotImplementedError

    def flush(self) -> None:
        """Push everything queued (and record it in the ledger)."""
        raise NotImplementedError

    def submit(self, liq: Liquidation) -> None:
        self._queue(liq)
        if self.batch_ms() <= 0:
            self.flush()

    async def flusher(self) -> None:
        while True:
            await asyncio.sleep(max(self.batch_ms(), MIN_PERIOD_MS) / 1000)
            self.flush()
