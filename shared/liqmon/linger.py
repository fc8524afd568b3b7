"""The linger both crash-day batchers follow: the collectors' stream appends
(`collector.streamwrite`) and the aggregator's reads (`liqmon_aggregator.consumer`).

Both pay mostly per call at a crash's small batches (the append script's and `apply.lua`'s
fixed costs: docs/PERFORMANCE.md, "The whole pipeline, third round"), so while the stream is
busy the next call waits until `linger` seconds after the last one and carries what came
meanwhile. Busy means a batch of at least `BUSY_FROM` events: at everyday rates a batch
holds a few events and nothing waits. A full batch means a backlog: the next one is full
already, and waiting would only add latency.
"""

from __future__ import annotations

import time
from typing import Final

#: A batch of this many events means a busy stream (everyday batches hold a few).
BUSY_FROM: Final = 32


def lingers(last_size: int, full: int, linger_s: float) -> bool:
    """After a batch of `last_size` (of at most `full`), does the next one wait?"""
    return linger_s > 0 and BUSY_FROM <= last_size < full


def linger_left(last_at: float, linger_s: float) -> float:
    """Seconds still to wait after a batch started at `last_at` (time.monotonic)."""
    return last_at + linger_s - time.monotonic()
