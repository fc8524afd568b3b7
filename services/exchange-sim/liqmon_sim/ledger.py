"""The ledger: every liquidation the simulator put on the wire, in its own terms.

A liquidation enters the ledger only when its frame was written to at least one client
socket (`clients` >= 1). Duplicates/replays of an earlier liquidation and malformed frames
are entries too, flagged, and excluded from the totals, so a test compares the pipeline's
output with `totals()` (unique liquidations: count and exact cents per venue/side/coin).
What the Binance 1000 ms sampling rule withheld is counted apart (`suppressed`) and never
enters the totals: it was not emitted.

Totals are always exact: each run keeps its count and cents as liquidations are recorded and
one cell per (venue, side, coin), from which the breakdown is summed when it is read. Entry
objects are kept in memory up to a cap (a soak emits millions) and, optionally, all of them
go to a JSONL file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from liqmon_sim.market import Liquidation


@dataclass(slots=True)
class LedgerEntry:
    seq: int
    run: int
    venue: str
    instrument: str
    coin: str
    side: str | None  # position liquidated: long/short (None for some malformed frames)
    usd: str | None  # exact decimal, half-even to the cent; None when malformed
    cents: int
    ts: int | None  # event time as put in the frame
    emitted_ms: int
    clients: int
    duplicate: bool = False
    replay_of: int | None = None  # seq of the original when duplicate
    malformed: str | None = None  # kind of breakage, e.g. "invalid_json"
    late_ms: int = 0

    @property
    def counted(self) -> bool:
        return not self.duplicate and self.malformed is None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: (venue, side, coin) of counted liquidations -> [count, cents]
Cells = dict[tuple[str, str | None, str], list[int]]


@dataclass(slots=True)
class Totals:
    count: int = 0
    cents: int = 0
    by_venue_side: dict[str, list[int]] = field(default_factory=dict)  # "okx/long": [n, cents]
    by_coin: dict[str, list[int]] = field(default_factory=dict)
    duplicates: int = 0
    malformed: int = 0

    def add_cells(self, cells: Cells) -> None:
        """Fold one run's cells into the breakdown tables (count and cents are kept apart,
        per liquidation, by the ledger)."""
        for (venue, side, coin), (n, cents) in cells.items():
            for table, key in ((self.by_venue_side, f"{venue}/{side}"), (self.by_coin, coin)):
                cell = table.setdefault(key, [0, 0])
                cell[0] += n
                cell[1] += cents

    def as_dict(self) -> dict[str, Any]:
        def cells(table: dict[str, list[int]]) -> dict[str, dict[str, int]]:
            return {k: {"count": v[0], "cents": v[1]} for k, v in sorted(table.items())}

        return {
            "count": self.count,
            "cents": self.cents,
            "usd": f"{self.cents // 100}.{self.cents % 100:02d}",
            "by_venue_side": cells(self.by_venue_side),
            "by_coin": cells(self.by_coin),
            "duplicates": self.duplicates,
            "malformed": self.malformed,
        }


@dataclass(slots=True)
class _RunBook:
    """One run's exact sums as liquidations are recorded: the counters the driver polls,
    and one cell per (venue, side, coin), so each liquidation costs one dict lookup; the
    breakdown by venue/side and by coin is summed from the cells when it is read."""

    count: int = 0
    cents: int = 0
    duplicates: int = 0
    malformed: int = 0
    cells: Cells = field(default_factory=dict)

    def add(self, entry: LedgerEntry) -> None:
        if entry.malformed is not None:
            self.malformed += 1
        elif entry.duplicate:
            self.duplicates += 1
        else:
            self.count += 1
            self.cents += entry.cents
            key = (entry.venue, entry.side, entry.coin)
            cell = self.cells.get(key)
            if cell is None:
                self.cells[key] = [1, entry.cents]
            else:
                cell[0] += 1
                cell[1] += entry.cents


class Ledger:
    def __init__(self, max_entries: int = 200_000, path: Path | None = None) -> None:
        self.entries: deque[LedgerEntry] = deque(maxlen=max_entries)
        self.runs: dict[int, _RunBook] = {}
        self.suppressed: dict[str, int] = {}
        self.recent_suppressed: deque[LedgerEntry] = deque(maxlen=10_000)
        self._seq = 0
        self._file: IO[bytes] | None = path.open("ab") if path else None

    @property
    def last_seq(self) -> int:
        return self._seq

    @property
    def totals(self) -> Totals:
        """Every run's unique liquidations, exact (summed from the runs when read)."""
        return self._sum(self.runs.values())

    def run_totals(self, run: int) -> Totals:
        book = self.runs.get(run)
        return self._sum([book] if book is not None else [])

    def run_count(self, run: int) -> int:
        """`run_totals(run).count` without building the breakdown (the driver polls it)."""
        book = self.runs.get(run)
        return book.count if book is not None else 0

    @staticmethod
    def _sum(books: Iterable[_RunBook]) -> Totals:
        totals = Totals()
        for book in books:
            totals.count += book.count
            totals.cents += book.cents
            totals.duplicates += book.duplicates
            totals.malformed += book.malformed
            totals.add_cells(book.cells)
        return totals

    def _add(self, entry: LedgerEntry) -> LedgerEntry:
        self.entries.append(entry)
        book = self.runs.get(entry.run)
        if book is None:
            book = self.runs[entry.run] = _RunBook()
        book.add(entry)
        if self._file is not None:
            self._file.write(orjson.dumps(entry) + b"\n")
        return entry

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def record(
        self,
        liq: Liquidation,
        *,
        run: int,
        clients: int,
        emitted_ms: int,
        replay_of: int | None = None,
    ) -> LedgerEntry:
        inst = liq.inst
        return self._add(
            LedgerEntry(
                self._next(), run, inst.venue, inst.inst_id, inst.coin, liq.side,
                str(liq.usd), liq.cents, liq.ts, emitted_ms, clients,
                duplicate=replay_of is not None, replay_of=replay_of, late_ms=liq.late_ms,
            )
        )  # fmt: skip

    def record_malformed(
        self, venue: str, instrument: str, kind: str, *, run: int, clients: int, emitted_ms: int
    ) -> LedgerEntry:
        return self._add(
            LedgerEntry(
                self._next(), run, venue, instrument, "", None, None, 0, None, emitted_ms,
                clients, malformed=kind,
            )
        )  # fmt: skip

    def record_suppressed(self, liq: Liquidation, *, run: int, now_ms: int) -> None:
        """A liquidation the sampling rule replaced before it was pushed (never emitted)."""
        venue = liq.inst.venue
        self.suppressed[venue] = self.suppressed.get(venue, 0) + 1
        self.recent_suppressed.append(
            LedgerEntry(
                0, run, venue, liq.inst.inst_id, liq.inst.coin, liq.side, str(liq.usd),
                liq.cents, liq.ts, now_ms, 0,
            )
        )  # fmt: skip

    def select(
        self, since: int = 0, limit: int = 10_000, run: int | None = None, venue: str | None = None
    ) -> list[LedgerEntry]:
        out = []
        for entry in self.entries:
            if entry.seq <= since or (run is not None and entry.run != run):
                continue
            if venue is not None and entry.venue != venue:
                continue
            out.append(entry)
            if len(out) >= limit:
                break
        return out

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
