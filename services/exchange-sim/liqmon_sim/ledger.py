"""The ledger: every liquidation the simulator put on the wire, in its own terms.

A liquidation enters the ledger only when its frame was written to at least one client
socket (`clients` >= 1). Duplicates/replays of an earlier liquidation and malformed frames
are entries too, flagged, and excluded from the totals, so a test compares the pipeline's
output with `totals()` (unique liquidations: count and exact cents per venue/side/coin).
What the Binance 1000 ms sampling rule withheld is counted apart (`suppressed`) and never
enters the totals: it was not emitted.

Totals are kept incrementally and are always exact; entry objects are kept in memory up to
a cap (a soak emits millions) and, optionally, all of them go to a JSONL file.
"""

from __future__ import annotations

from collections import deque
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


@dataclass(slots=True)
class Totals:
    count: int = 0
    cents: int = 0
    by_venue_side: dict[str, list[int]] = field(default_factory=dict)  # "okx/long": [n, cents]
    by_coin: dict[str, list[int]] = field(default_factory=dict)
    duplicates: int = 0
    malformed: int = 0

    def add(self, entry: LedgerEntry) -> None:
        if entry.malformed is not None:
            self.malformed += 1
            return
        if entry.duplicate:
            self.duplicates += 1
            return
        self.count += 1
        self.cents += entry.cents
        for table, key in (
            (self.by_venue_side, f"{entry.venue}/{entry.side}"),
            (self.by_coin, entry.coin),
        ):
            cell = table.setdefault(key, [0, 0])
            cell[0] += 1
            cell[1] += entry.cents

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


class Ledger:
    def __init__(self, max_entries: int = 200_000, path: Path | None = None) -> None:
        self.entries: deque[LedgerEntry] = deque(maxlen=max_entries)
        self.totals = Totals()
        self.runs: dict[int, Totals] = {}
        self.suppressed: dict[str, int] = {}
        self.recent_suppressed: deque[LedgerEntry] = deque(maxlen=10_000)
        self._seq = 0
        self._file: IO[bytes] | None = path.open("ab") if path else None

    @property
    def last_seq(self) -> int:
        return self._seq

    def _add(self, entry: LedgerEntry) -> LedgerEntry:
        self.entries.append(entry)
        self.totals.add(entry)
        self.runs.setdefault(entry.run, Totals()).add(entry)
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

    def run_totals(self, run: int) -> Totals:
        return self.runs.get(run, Totals())

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
