"""Event filters, shared by `/api/liquidations` and `/api/stream`.

A filter is parsed and validated once per request (`deps.py`) into an immutable
`EventFilter`; the hot paths then only compare plain values. Each event is reduced once
per process to an `EventKey` (upper-cased symbol, exchange, side, cents, ts), so a
filtered SSE client costs a few comparisons per event, never a parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from liqmon.event import LiquidationEvent
from liqmon_web.stream_ids import U64_MAX, StreamId

#: `since`/`until` select on the event time `ts`, but the scan walks stream ids (time of
#: arrival). An event reaches the stream after it happened, normally within seconds; an
#: event that arrives more than this late after `until` is not found by an `until` query.
LATE_ARRIVAL_MS = 10 * 60_000
#: Tolerated clock skew between an exchange and Redis (stream id before event ts).
CLOCK_SKEW_MS = 60_000


class EventKey(NamedTuple):
    """What filters look at, extracted once per event."""

    symbol: str  # upper-cased
    exchange: str
    side: str
    usd_cents: int
    ts: int

    @classmethod
    def of(cls, event: LiquidationEvent) -> EventKey:
        return cls.make(event.symbol, event.exchange, event.side, event.usd_cents, event.ts)

    @classmethod
    def make(cls, symbol: str, exchange: str, side: str, usd_cents: int, ts: int) -> EventKey:
        """From an event's values (an entry framed without building the event; one per event
        read, so built with `tuple.__new__`, not the NamedTuple's Python-level `__new__`)."""
        return tuple.__new__(cls, (symbol.upper(), exchange, side, usd_cents, ts))


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Selection shared by the REST tape and the stream. Empty sets mean "any"."""

    symbols: frozenset[str] = frozenset()  # upper-cased: matching is case-insensitive
    #: The names to look up in the per-coin index, which is keyed by the event's symbol
    #: exactly: as typed and upper-cased (venues' coins are upper case; an odd symbol is
    #: found by its own spelling, as the dashboard's coin view asks for it).
    symbol_spellings: frozenset[str] = frozenset()
    exchanges: frozenset[str] = frozenset()
    side: str | None = None
    min_cents: int = 0
    since: int | None = None
    until: int | None = None

    @property
    def is_empty(self) -> bool:
        return (
            not self.symbols
            and not self.exchanges
            and self.side is None
            and self.min_cents == 0
            and self.since is None
            and self.until is None
        )

    def matches(self, key: EventKey) -> bool:
        if self.symbols and key.symbol not in self.symbols:
            return False
        if self.exchanges and key.exchange not in self.exchanges:
            return False
        if self.side is not None and key.side != self.side:
            return False
        if key.usd_cents < self.min_cents:
            return False
        if self.since is not None and key.ts < self.since:
            return False
        return self.until is None or key.ts <= self.until

    def scan_floor(self) -> StreamId | None:
        """The oldest stream id that can hold a match (None: the whole stream)."""
        if self.since is None:
            return None
        return StreamId(max(self.since - CLOCK_SKEW_MS, 0), 0)

    def scan_ceiling(self) -> StreamId | None:
        """The newest stream id that can hold a match (None: up to the newest)."""
        if self.until is None:
            return None
        return StreamId(min(self.until + LATE_ARRIVAL_MS, U64_MAX), U64_MAX)
