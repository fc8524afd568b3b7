"""The broadcaster's tick by the number of stream clients: quick for a few dashboards,
20 ms from 50 clients on, 30 µs per client beyond 667, never above the configured cap."""

from __future__ import annotations

import pytest

from liqmon.keys import Keys
from liqmon_web.broadcaster import Broadcaster
from liqmon_web.filters import EventFilter
from liqmon_web.settings import WebSettings


def interval_with(clients: int, batch_ms: int = 30) -> float:
    settings = WebSettings(web_sse_batch_ms=batch_ms)
    broadcaster = Broadcaster(None, None, Keys("liq"), settings)  # type: ignore[arg-type]
    for _ in range(clients):
        broadcaster.subscribe(EventFilter())
    return broadcaster.publish_interval()


@pytest.mark.parametrize(
    ("clients", "ms"),
    [(0, 5.0), (1, 5.0), (12, 5.0), (20, 8.0), (50, 20.0), (200, 20.0), (800, 24.0), (1000, 30.0)],
)
async def test_the_tick_grows_with_the_clients(clients: int, ms: float) -> None:
    assert interval_with(clients) == pytest.approx(ms / 1000)


async def test_the_cap_bounds_every_tick() -> None:
    assert interval_with(1, batch_ms=3) == pytest.approx(0.003)
    assert interval_with(1000, batch_ms=25) == pytest.approx(0.025)
    assert interval_with(5, batch_ms=0) == 0.0
