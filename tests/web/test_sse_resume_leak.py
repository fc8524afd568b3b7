"""Review: a client that resumes with `Last-Event-ID` and goes away while its backlog is
being replayed is never released: the open-clients gauge stays up and the per-address
slot stays taken, so after a few such reconnects (a flaky phone, a laptop waking up) that
address gets 429 on /api/stream until the web process is restarted. Reproduced live on
`liqmon up --demo`: liqmon_web_sse_clients grew by one per aborted resume while no TCP
connection to the web port was open."""

from __future__ import annotations

import httpx
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.collectors.servers import poll_until
from tests.web.helpers import live_server, make_event, now_ms, settings_for, sse, xadd_now


async def test_aborted_resume_releases_its_client_slot(
    redis: Redis, keys: Keys, redis_url: str
) -> None:
    start = now_ms() - 60_000
    events = [
        make_event(
            ts=start + i, salt=i, symbol=("BTC", "ETH", "SOL")[i % 3], side=("long", "short")[i % 2]
        )
        for i in range(3000)
    ]
    ids = await xadd_now(redis, keys, events)
    settings = settings_for(redis_url, web_summary_cache_ms=0, web_max_sse_per_ip=2)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        for _ in range(20):  # a client on a flaky link resumes again and again
            url = "/api/stream?symbol=btc&side=long"
            async with sse(client, url, {"Last-Event-ID": ids[0]}) as reader:
                got = await reader.liquidations(20)
                assert got[0].id == ids[6]
            # the client is gone: its slot must come back
            await poll_until(lambda: server.broadcaster.clients == 0, timeout=10)
        async with client.stream("GET", "/api/stream") as response:
            assert response.status_code == 200, await response.aread()
