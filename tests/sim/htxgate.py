"""The HTX and Gate collectors in-process against the simulator (helpers for their tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from liqmon.collector.service import CollectorService
from liqmon_gate.settings import GateSettings
from liqmon_gate.venue import GateVenue
from liqmon_htx.settings import HtxSettings
from liqmon_htx.venue import HtxVenue
from tests.collectors.conftest import FAST
from tests.collectors.servers import running


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
) -> AsyncIterator[None]:
    """The collector running, and subscribed on every venue (so a run starts only then)."""
    async with running(service):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not all(sim.venues[v].has_audience_for(v) for v in venues):
            assert loop.time() < deadline, "the collector never subscribed"
            await asyncio.sleep(0.02)
        yield
