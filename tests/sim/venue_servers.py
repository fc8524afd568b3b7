"""Serve one simulated venue (a `VenueServer`) on a free loopback port, alone: its
WebSocket routes and REST routes, and the background tasks it needs, for the tests that
drive one venue's collector against it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any, cast

from websockets.asyncio.server import serve

from liqmon.runtime import TaskSet
from liqmon_sim.http import BodyTakingConnection, make_process_request
from liqmon_sim.venues.base import VenueServer


@contextlib.asynccontextmanager
async def serving(
    server: VenueServer, *tasks: Coroutine[Any, Any, None]
) -> AsyncIterator[VenueServer]:
    """`async with serving(server, server.flusher()):` then `server.port`."""
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
    for i, coro in enumerate(tasks):
        background.spawn(coro, f"venue-task-{i}")
    try:
        yield server
    finally:
        await background.cancel_all()
        await server.close()
