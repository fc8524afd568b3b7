"""The linger both crash-day batchers follow: the collectors' stream appends
(`collector.streamwrite`) and the aggregator's reads (`liqmon_aggregator.consumer`).

Both pay mostly per call at a crash's small batches (the append script's and `apply.lua`'s
fixed costs: docs/PERFORMANCE.md, "The whole pipeline, third round"), so while the stream is
busy the next call waits until `linger` seconds after the last one and carries what came
meanwhile. Busy means a batch of at least `BUSY_FROM` events that arrived at `BUSY_RATE`
or faster: at everyday rates a batch holds a few events and nothing waits. A full batch
means a backlog: the next one is full already, and waiting would only add latency.

Why a rate and not a size alone: at 1,000 events/s (the totals-freshness target's rate) a
hiccup of 32 ms made one batch busy, and the linger then made every later one busy too (50
ms of 1,000/s is 50 events): the wait stuck, and every event carried up to 50 ms more for
as long as the rate lasted. A batch's rate over the time it gathered is the same whether
the previous call lingered or not, so the rule lets go when the rate falls.
"""

from __future__ import annotations

import time
from typing import Final

#: A batch of this many events means a busy stream (everyday batches hold a few)...
BUSY_FROM: Final = 32
#: ...if they came at least this fast (events per second over the batch's span): four
#: times the freshness target's rate, a third of a crash's (docs/PERFORMANCE.md).
BUSY_RATE: Final = 4_000.0


def lingers(last_size: int, full: int, linger_s: float, span_s: float) -> bool:
    """After a batch of `last_size` (of at most `full`) gathered over `span_s` seconds
    (from the start of the call before it to its own; 0 for a first call: its events were
    all there), does the next one wait?"""
    return linger_s > 0 and BUSY_FROM <= last_size < full and last_size >= BUSY_RATE * span_s


def span_since(last_at: float, now: float) -> float:
    """A batch's span for `lingers`: from the call before it (started at `last_at`,
    time.monotonic; 0.0 if there was none) to its own at `now`."""
    return now - last_at if last_at else 0.0


def linger_left(last_at: float, linger_s: float) -> float:
    """Seconds still to wait after a batch started at `last_at` (time.monotonic)."""
    return last_at + linger_s - time.monotonic()
