"""Serve one simulated venue (a `VenueServer`) on a free loopback port, alone: its
WebSocket routes and REST routes, and the background tasks it needs, for the tests that
drive one venue's collector against it."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any, cast

from websockets.asyncio.server import serve

from liqmon.bus import now_ms
from liqmon.runtime import TaskSet
from liqmon_sim.catalog import Catalog, Instrument
from liqmon_sim.http import BodyTakingConnection, make_process_request
from liqmon_sim.market import Liquidation, Market, Side, SizeModel
from liqmon_sim.venues.base import VenueServer


@contextlib.asynccontextmanager
async def serving(server: VenueServer) -> AsyncIterator[VenueServer]:
    """`async with serving(server):` then `server.port`; its `background()` work runs."""
    server.server = await serve(
        server.handler,
        "127.0.0.1",
        0,
        process_request=make_process_request(cast(Any, None), server),  # no /_sim routes
        compression=None,
        ping_interval=None,
        ping_timeout=None,
        create_connection=BodyTakingConnection,
    )
    background = TaskSet()
    for name, work in server.background():
        background.spawn(work, name)
    try:
        yield server
    finally:
        await background.cancel_all()
        await server.close()


class Liquidations:
    """Liquidations of a catalog's instruments, drawn as the simulator's driver draws them."""

    def __init__(self, catalog: Catalog, seed: int) -> None:
        self.catalog = catalog
        self.market = Market(catalog, SizeModel())
        self.rng = random.Random(seed)

    def of(
        self, inst: Instrument, side: Side | None = None, usd: float | None = None
    ) -> Liquidation:
        return self.market.make(self.rng, inst, now_ms(), usd_target=usd, side=side)

    def pick(self, venues: tuple[str, ...]) -> Instrument:
        return self.market.pick(self.rng, self.rng.choice(venues))
