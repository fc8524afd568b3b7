"""Redis away (at start, and restarted mid-run): events buffer and are written in order after."""

from __future__ import annotations

import asyncio
from pathlib import Path

from liqmon.collector.service import CollectorService
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.keys import Keys
from liqmon.redis_client import create_redis
from liqmon_binance.venue import BinanceVenue
from tests.collectors.conftest import binance_settings, stream_events
from tests.collectors.servers import LoopbackVenue, poll_until, running, status_is, stream_reaches
from tests.collectors.test_binance_collector import REST, USDM, connected
from tests.collectors.wire import BASE_TS, binance_frame


async def test_events_buffer_while_redis_is_away_and_arrive_in_order(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", persistent=True, appendfsync="always")
    keys = Keys("liq")
    async with LoopbackVenue(REST) as venue:
        settings = binance_settings(server.url, venue.ws_base, venue.http_base)
        service = CollectorService(BinanceVenue(settings), settings)
        async with running(service):
            # 1. Redis is not even running at start: the feeds connect anyway and buffer.
            await connected(venue)
            for i in range(40):
                await venue.broadcast(binance_frame(i), USDM)
            await poll_until(lambda: service.writer.buffered == 40)
            await asyncio.to_thread(server.start)
            redis = create_redis(server.url)
            try:
                await stream_reaches(redis, keys, 40)
                # 2. Redis restarts mid-run (data persisted in its AOF).
                await asyncio.to_thread(server.stop)
                for i in range(40, 100):
                    await venue.broadcast(binance_frame(i), USDM)
                await poll_until(lambda: service.writer.buffered == 60)
                assert not service.writer.redis_ok
                await asyncio.to_thread(server.start)
                await stream_reaches(redis, keys, 100)
                status = await status_is(
                    redis, keys.collector_status("binance"), buffered="0", events="100"
                )
                events = await stream_events(redis, keys)
            finally:
                await redis.aclose()
        await asyncio.to_thread(server.stop)
    assert [e.ts for e in events] == [BASE_TS + i for i in range(100)]  # in order, once each
    assert status["buffer_dropped"] == "0" and status["connected"] == "1"
    assert service.status.counters.reconnects == 0  # the exchange side never noticed
