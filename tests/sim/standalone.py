"""One simulated venue server on its own port, for a collector test that needs nothing else
of the simulator (its own ledger, its own instruments, liquidations built by the test)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, cast

from redis.asyncio import Redis
from websockets.asyncio.server import serve

from liqmon.keys import Keys
from liqmon_sim.catalog import Instrument
from liqmon_sim.http import make_process_request
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation, round_cents
from liqmon_sim.venues.base import VenueServer, now_ms
from tests.collectors.servers import poll_until

Notional = Callable[[Instrument, Decimal, Decimal], Decimal]


@asynccontextmanager
async def serving(server: VenueServer) -> AsyncIterator[VenueServer]:
    """`server` listening on a free loopback port (REST routes included)."""
    server.server = await serve(
        server.handler,
        "127.0.0.1",
        0,
        # the /_sim/* routes need a simulator; a standalone venue answers only its own
        process_request=make_process_request(cast(Any, None), server),
        compression=None,
        ping_interval=None,
        ping_timeout=None,
        close_timeout=2.0,
    )
    try:
        yield server
    finally:
        await server.close()


def make_liquidation(
    notional: Notional, inst: Instrument, side: str, qty: str, price: str, ts: int | None = None
) -> Liquidation:
    q, p = Decimal(qty), Decimal(price)
    usd = round_cents(notional(inst, q, p))
    return Liquidation(inst, side, q, p, ts or now_ms(), usd, p, q)  # type: ignore[arg-type]


def ledger_cells(ledger: Ledger, exchange_of: Callable[[str], str]) -> dict[str, list[int]]:
    """The ledger's unique liquidations as {"<exchange>/<side>": [count, cents]}."""
    cells: dict[str, list[int]] = {}
    for key, (count, cents) in ledger.totals.by_venue_side.items():
        venue, side = key.split("/")
        cell = cells.setdefault(f"{exchange_of(venue)}/{side}", [0, 0])
        cell[0] += count
        cell[1] += cents
    return cells


async def stream_equals_ledger(
    redis: Redis, keys: Keys, ledger: Ledger, exchange_of: Callable[[str], str]
) -> Counter[str]:
    """Wait until the stream holds the ledger's unique count, then compare per
    exchange/side (count and cents) and per liquidation key; returns the stream's id counts."""
    want = ledger.totals.count
    await poll_until(lambda: _count(redis, keys, want), timeout=20)
    await asyncio.sleep(0.3)  # anything extra would show up now
    ids: Counter[str] = Counter()
    cells: dict[str, list[int]] = {}
    got: Counter[tuple[str, str, int, int]] = Counter()
    for _, fields in await redis.xrange(keys.events):
        ids[fields["id"]] += 1
        if ids[fields["id"]] > 1:
            continue
        cents = int(Decimal(fields["usd"]) * 100)
        cell = cells.setdefault(f"{fields['exchange']}/{fields['side']}", [0, 0])
        cell[0] += 1
        cell[1] += cents
        got[(fields["instrument"], fields["side"], int(fields["ts"]), cents)] += 1
    expected: Counter[tuple[str, str, int, int]] = Counter(
        (e.instrument, str(e.side), int(e.ts or 0), e.cents) for e in ledger.entries if e.counted
    )
    assert len(ids) == want, "unique liquidations: exactly the ledger's"
    assert cells == ledger_cells(ledger, exchange_of)
    assert got == expected
    return ids


async def _count(redis: Redis, keys: Keys, want: int) -> bool:
    return int(await redis.xlen(keys.events)) >= want
