"""Exact comparison of what the simulator emitted with what the pipeline shows.

Three views of the same liquidations, each reduced to the same `Tally` (per exchange/side
and per coin/side: count and integer cents):
- the simulator's ledger (unique liquidations written to at least one client socket);
- the event stream (each event id once: the stream may hold an id twice after a retried
  batch or a replay; the aggregator must count it once);
- the aggregator's 1d window, read through the web's /api/summary or liqmon.views.

A liquidation is matched across ledger and stream by (exchange, instrument, side, event
time, cents): the simulator knows nothing of the collectors' ids, so this is the finest key
both sides share. `missing` = ledger - stream (as multisets): what a fault lost.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from liqmon import views
from liqmon.keys import Keys

Key = tuple[str, str, str, int, int]


@dataclass
class Tally:
    by_exchange: dict[str, list[int]] = field(default_factory=dict)  # "okx/long" -> [n, cents]
    by_coin: dict[str, list[int]] = field(default_factory=dict)  # "BTC/long" -> [n, cents]
    keys: Counter[Key] = field(default_factory=Counter)

    def add(
        self, exchange: str, coin: str, instrument: str, side: str, ts: int, cents: int
    ) -> None:
        for table, name in (
            (self.by_exchange, f"{exchange}/{side}"),
            (self.by_coin, f"{coin}/{side}"),
        ):
            cell = table.setdefault(name, [0, 0])
            cell[0] += 1
            cell[1] += cents
        self.keys[(exchange, instrument, side, ts, cents)] += 1

    @property
    def count(self) -> int:
        return sum(n for n, _ in self.by_exchange.values())

    def side(self, side: str) -> tuple[int, int]:
        cells = [c for k, c in self.by_exchange.items() if k.endswith(f"/{side}")]
        return sum(c[0] for c in cells), sum(c[1] for c in cells)

    def ranking(self, side: str, top: int) -> list[int]:
        """The top-`top` coin totals (cents) for a side, descending (ties need no order)."""
        cents = [c[1] for k, c in self.by_coin.items() if k.endswith(f"/{side}") and c[1] > 0]
        return sorted(cents, reverse=True)[:top]


def ledger_tally(entries: list[dict[str, Any]]) -> Tally:
    tally = Tally()
    for e in entries:
        if e["duplicate"] or e["malformed"] is not None:
            continue
        exchange = e["venue"].split("-")[0]
        tally.add(exchange, e["coin"], e["instrument"], e["side"], e["ts"], e["cents"])
    return tally


@dataclass
class StreamView:
    tally: Tally
    ids: Counter[str]  # event id -> stream entries carrying it
    stream_ids: list[str]  # every entry id, in order

    @property
    def repeated(self) -> int:
        return sum(self.ids.values()) - len(self.ids)


async def stream_view(redis: Redis, keys: Keys) -> StreamView:
    tally = Tally()
    ids: Counter[str] = Counter()
    stream_ids: list[str] = []
    last = "-"
    while True:
        page = await redis.xrange(keys.events, min=last, max="+", count=10_000)
        if last != "-":
            page = page[1:]
        if not page:
            break
        for sid, f in page:
            stream_ids.append(sid)
            ids[f["id"]] += 1
            if ids[f["id"]] == 1:
                cents = int(Decimal(f["usd"]) * 100)
                tally.add(
                    f["exchange"], f["symbol"], f["instrument"], f["side"], int(f["ts"]), cents
                )
        last = page[-1][0]
    return StreamView(tally, ids, stream_ids)


def _cents(usd: float) -> int:
    return round(usd * 100)


def assert_window_equals(window: dict[str, Any], want: Tally, top: int) -> None:
    """The summary's window W (as /api/summary gives it) equals the tally, to the cent."""
    got_long = (window["long_count"], _cents(window["long_usd"]))
    got_short = (window["short_count"], _cents(window["short_usd"]))
    assert got_long == want.side("long"), ("long", got_long, want.side("long"))
    assert got_short == want.side("short"), ("short", got_short, want.side("short"))
    by_ex = {
        f"{ex}/{side}": [cells[f"{side}_count"], _cents(cells[f"{side}_usd"])]
        for ex, cells in window["by_exchange"].items()
        for side in ("long", "short")
        if cells[f"{side}_count"]
    }
    assert by_ex == want.by_exchange
    for side in ("long", "short"):
        ranking = window[f"top_{side}"]
        assert [_cents(r["usd"]) for r in ranking] == want.ranking(side, top), side
        for row in ranking:  # every ranked coin: its own total and count, exactly
            assert [row["count"], _cents(row["usd"])] == want.by_coin[f"{row['symbol']}/{side}"]


async def assert_views_equal(redis: Redis, keys: Keys, want: Tally, top: int = 100) -> None:
    """liqmon.views (what every reader uses) shows exactly `want` in the 1d window, and the
    aggregator counted each event once."""
    summary = await views.read_summary(redis, keys, top=top)
    assert_window_equals(summary["windows"]["1d"], want, top)
    health = await views.read_aggregator_health(redis, keys)
    assert health["applied"] == want.count, "applied once per unique event"
    assert health["drift_cents"] == 0
    assert health["lag"] == 0 and health["pending"] == 0
