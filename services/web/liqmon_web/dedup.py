"""One liquidation, one row: repeats of an event id are hidden from the tape and the stream.

The same liquidation can reach the stream twice, under two stream ids: two replicas of a
collector both append it, or an exchange replays an old liquidation after a collector
restart (its in-memory repeat filter is then empty). The aggregator's windows count an
event id once; the consumer-facing outputs follow the same rule, cheaply and bounded:

**Rule: the oldest copy is the one shown.** A stream entry is a repeat when an OLDER
entry (smaller stream id) within the look-back horizon carries the same event `id`. The
decision depends on the stream only, never on page boundaries or on when a client
connected, so paging and resuming never show the same event twice within the horizon.

- `/api/liquidations` (tape.py): within a response, and across pages by reading a bounded
  look-back below the page. An entry at stream time `S` with event time `ts` looks back to
  `max(S - REPEAT_HORIZON_MS, ts - REPEAT_SKEW_MS)`: a copy cannot have reached the stream
  (much) before the event happened, so an entry that arrived on time needs only a few
  seconds of look-back, and a replay arriving late is checked back to its event time, at
  most 10 minutes. The look-back reads at most `LOOKBACK_MAX` entries per request, and
  only their event ids (event_ids.lua, no parse): at 500 events/s about 500 entries for
  an unfiltered newest page, ~2 ms beside the ~3 ms the page itself costs. Beyond the
  horizon, or past that cap (more than 2,000 events in the look-back span), a repeat
  is listed again.
- `/api/stream` (broadcaster.py, sse.py): the process's one reader keeps the first stream
  id of the last `RECENT_IDS` event ids (`RecentIds`, FIFO-bounded) and does not broadcast
  a repeat; a `Last-Event-ID` replay skips an entry whose id the reader saw at an older
  stream id, or that came earlier in the same replay.
"""

from __future__ import annotations

import collections

from liqmon_web.filters import StreamId

#: How far back (stream time) an entry's older copy is looked for by the tape.
REPEAT_HORIZON_MS = 10 * 60_000
#: A copy may carry a stream id this much before the event's own `ts` (clock skew).
REPEAT_SKEW_MS = 1_000
#: Most entries one tape request reads below its page to find older copies.
LOOKBACK_MAX = 2_000
#: Event ids the stream reader remembers (about 8 MB; 100k = 3 minutes at 500 events/s).
RECENT_IDS = 100_000


def lookback_floor_ms(stream_ms: int, ts: int) -> int:
    """Oldest stream time (ms) where a copy of an event seen at `stream_ms` is looked for."""
    return max(stream_ms - REPEAT_HORIZON_MS, min(ts, stream_ms) - REPEAT_SKEW_MS, 0)


class RecentIds:
    """Bounded map event id -> first stream id it was read at (oldest forgotten first)."""

    __slots__ = ("_first", "_size")

    def __init__(self, size: int = RECENT_IDS) -> None:
        self._size = size
        self._first: collections.OrderedDict[str, StreamId] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._first)

    def admit(self, event_id: str, sid: StreamId) -> bool:
        """Record a live entry; False when it repeats an event id already read."""
        first = self._first.get(event_id)
        if first is not None:
            return sid <= first  # the same entry again is not a repeat
        self._first[event_id] = sid
        if len(self._first) > self._size:
            self._first.popitem(last=False)
        return True

    def older_copy(self, event_id: str, sid: StreamId) -> bool:
        """True when this event id was read at a stream id older than `sid`."""
        first = self._first.get(event_id)
        return first is not None and first < sid
