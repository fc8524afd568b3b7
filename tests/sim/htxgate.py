"""The HTX and Gate collectors in-process against the simulator (helpers for their tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from liqmon.collector.service import CollectorService
from liqmon.runtime import serve
from liqmon_gate.settings import GateSettings
from liqmon_gate.venue import GateVenue
from liqmon_htx.settings import HtxSettings
from liqmon_htx.venue import HtxVenue
from tests.collectors.conftest import FAST
from tests.sim.conftest import until


def htx_service(sim: Any, redis_url: str, **over: Any) -> CollectorService:
    urls = sim.urls
    settings = HtxSettings(
        redis_url=redis_url,
        htx_ws_url=urls["LIQMON_HTX_WS_URL"],
        htx_rest_url=urls["LIQMON_HTX_REST_URL"],
        **{**FAST, "htx_quiet_seconds": 1.0, **over},
    )
    return CollectorService(HtxVenue(settings), settings)


def gate_service(sim: Any, redis_url: str, **over: Any) -> CollectorService:
    urls = sim.urls
    settings = GateSettings(
        redis_url=redis_url,
        gate_ws_url=urls["LIQMON_GATE_WS_URL"],
        gate_rest_url=urls["LIQMON_GATE_REST_URL"],
        **{
            **FAST,
            "gate_ping_seconds": 0.5,
            "gate_side_check_seconds": 0.2,
            "gate_side_check_delay_seconds": 0.0,
            **over,
        },
    )
    return CollectorService(GateVenue(settings), settings)


@contextlib.asynccontextmanager
async def collecting(
    sim: Any, service: CollectorService, venues: tuple[str, ...]
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """The collector running, and ready on every venue (so a run starts only then); yields
    `stop()`, which returns once the collector has flushed and ended (nothing more can
    reach the stream after it)."""
    stop_event = asyncio.Event()
    task = asyncio.create_task(serve(service, stop=stop_event, shutdown_timeout=10.0))

    async def stop() -> None:
        stop_event.set()
        await asyncio.wait_for(asyncio.shield(task), 20)

    try:
        await until(lambda: all(sim.venues[v].ready_for(v) for v in venues), timeout=20)
        yield stop
    finally:
        await stop()
