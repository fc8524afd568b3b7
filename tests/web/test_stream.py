"""GET /api/stream against a real uvicorn: delivery, resume, reset, filters, limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.web.conftest import Web
from tests.web.helpers import (
    live_server,
    make_event,
    settings_for,
    sse,
    xadd_now,
)


async def wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def subscribed(web: Web, n: int = 1) -> None:
    """Wait until `n` clients are live in the broadcaster (past any replay)."""
    await wait_for(lambda: len(web.server.broadcaster._subs) >= n)


async def test_an_event_appears_with_its_stream_id(web: Web, redis: Redis, keys: Keys) -> None:
    async with sse(web.client, "/api/stream") as reader:
        await subscribed(web)
        ev = make_event(symbol="BTC", usd_cents=123_456)
        (sid,) = await xadd_now(redis, keys, [ev])
        got = (await reader.liquidations(1))[0]
        assert reader.retry == 2000
        assert reader.response.headers["content-type"].startswith("text/event-stream")
        assert reader.response.headers["x-accel-buffering"] == "no"
        assert reader.response.headers["cache-control"] == "no-cache"
    assert got.event == "liquidation"
    assert got.id == sid
    assert got.json() == ev.to_json_dict(sid)


async def test_summary_event_every_second_has_the_summary_shape(web: Web) -> None:
    async with sse(web.client, "/api/stream") as reader:
        first = await reader.until("summary", timeout=3)
        second = await reader.until("summary", timeout=3)
    rest = (await web.client.get("/api/summary")).json()
    assert set(first.json()["windows"]) == set(rest["windows"]) == {
        "3m", "15m", "1h", "4h", "12h", "1d",
    }  # fmt: skip
    assert 500 <= second.json()["as_of"] - first.json()["as_of"] <= 1500


async def test_filters_are_applied_on_the_server(web: Web, redis: Redis, keys: Keys) -> None:
    url = "/api/stream?symbol=eth,sol&side=short&min_usd=100"
    async with sse(web.client, url) as reader:
        await subscribed(web)
        events = [
            make_event(symbol="ETH", side="short", usd_cents=20_000, salt=1),  # yes
            make_event(symbol="ETH", side="long", usd_cents=20_000, salt=2),
            make_event(symbol="BTC", side="short", usd_cents=20_000, salt=3),
            make_event(symbol="SOL", side="short", usd_cents=9_999, salt=4),
            make_event(symbol="sol", side="short", usd_cents=10_000, salt=5),  # yes
            make_event(symbol="DOGE", side="short", usd_cents=10_000, salt=6),
        ]
        ids = await xadd_now(redis, keys, events)
        got = await reader.liquidations(2)
        assert [g.id for g in got] == [ids[0], ids[4]]
        # The skipped tail still moves the client's Last-Event-ID (id-only block).
        await reader.until("summary", timeout=3)
        assert reader.last_id == ids[-1]


async def _writer(redis: Redis, keys: Keys, stop: asyncio.Event, out: list[str]) -> None:
    i = 0
    while not stop.is_set():
        out += await xadd_now(redis, keys, [make_event(salt=10_000 + i)])
        i += 1
        await asyncio.sleep(0.003)


@pytest.mark.parametrize("via", ["header", "query"])
async def test_resume_gives_exactly_the_missed_events(
    web: Web, redis: Redis, keys: Keys, via: str
) -> None:
    written: list[str] = []
    stop = asyncio.Event()
    writer: asyncio.Task[None] | None = None
    try:
        async with sse(web.client, "/api/stream") as first:
            await subscribed(web)
            writer = asyncio.create_task(_writer(redis, keys, stop, written))
            seen = [e.id for e in await first.liquidations(20)]
        await asyncio.sleep(0.2)  # events keep arriving while the client is away
        last = seen[-1]
        if via == "header":
            ctx = sse(web.client, "/api/stream", headers={"Last-Event-ID": str(last)})
        else:
            ctx = sse(web.client, f"/api/stream?last_event_id={last}")
        async with ctx as second:
            more = [e.id for e in await second.liquidations(30)]
            stop.set()
            await writer
            while more[-1] != written[-1]:
                more += [e.id for e in await second.liquidations(1)]
    finally:
        stop.set()
        if writer is not None:
            await writer
    assert seen + more == written[: len(seen) + len(more)]
    assert more[-1] == written[-1]
    assert len(set(seen + more)) == len(seen + more)


async def test_resume_from_a_trimmed_id_gets_reset(web: Web, redis: Redis, keys: Keys) -> None:
    old = await xadd_now(redis, keys, [make_event(salt=i) for i in range(5)])
    newer = await xadd_now(redis, keys, [make_event(salt=100 + i) for i in range(3)])
    await redis.xtrim(keys.events, minid=newer[0], approximate=False)
    await wait_for(lambda: str(web.server.broadcaster.position) == newer[-1])
    async with sse(web.client, "/api/stream", headers={"Last-Event-ID": old[1]}) as reader:
        first = (await reader.liquidations(1))[0]
        assert first.event == "reset"
        assert first.json()["first_id"] == newer[0]
        assert first.id == newer[-1]  # resuming from here continues without a gap
        await subscribed(web)
        (sid,) = await xadd_now(redis, keys, [make_event(salt=999)])
        assert (await reader.liquidations(1))[0].id == sid  # then live, no replay


async def test_resume_from_the_newest_id_replays_nothing(
    web: Web, redis: Redis, keys: Keys
) -> None:
    ids = await xadd_now(redis, keys, [make_event(salt=i) for i in range(3)])
    async with sse(web.client, "/api/stream", headers={"Last-Event-ID": ids[-1]}) as reader:
        await subscribed(web)
        (sid,) = await xadd_now(redis, keys, [make_event(salt=50)])
        assert [e.id for e in await reader.liquidations(1)] == [sid]


async def test_bad_stream_parameters_are_422(web: Web) -> None:
    resp = await web.client.get("/api/stream", headers={"Last-Event-ID": "yesterday"})
    assert resp.status_code == 422
    assert "'Last-Event-ID'" in resp.json()["error"]
    resp = await web.client.get("/api/stream", params={"side": "both"})
    assert resp.status_code == 422
    assert "'side'" in resp.json()["error"]
    assert web.server.broadcaster.clients == 0


async def test_client_limits_answer_429(redis_url: str, redis: Redis) -> None:
    settings = settings_for(redis_url, web_max_sse_per_ip=2, web_max_sse_clients=3)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
        contextlib.AsyncExitStack() as stack,
    ):
        for _ in range(2):
            await stack.enter_async_context(sse(client, "/api/stream"))
        resp = await client.get("/api/stream")
        assert resp.status_code == 429
        assert "from 127.0.0.1" in resp.json()["error"]
        assert server.broadcaster.rejected == 1
        await stack.aclose()
        await wait_for(lambda: server.broadcaster.clients == 0)
        async with sse(client, "/api/stream") as reader:  # slots were released
            await reader.until("summary", timeout=3)


async def test_server_limit_answers_429(redis_url: str, redis: Redis) -> None:
    settings = settings_for(redis_url, web_max_sse_clients=1)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
        sse(client, "/api/stream"),
    ):
        resp = await client.get("/api/stream")
        assert resp.status_code == 429
        assert "on this server" in resp.json()["error"]


async def test_keepalive_comment_when_idle(redis_url: str, redis: Redis) -> None:
    settings = settings_for(redis_url, web_sse_keepalive_s=0.1)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
        sse(client, "/api/stream") as reader,
    ):
        await reader.until("summary", timeout=3)  # events interleave with comments
        await reader.until("summary", timeout=3)
        assert "keep-alive" in reader.comments


@contextlib.asynccontextmanager
async def stalled_client(url: str) -> AsyncIterator[socket.socket]:
    """A client that sends the request and then never reads (tiny receive buffer)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    await loop.sock_sendall(sock, b"GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        yield sock
    finally:
        sock.close()


async def test_slow_client_is_dropped_and_counted_fast_client_unaffected(
    redis_url: str, redis: Redis, keys: Keys
) -> None:
    settings = settings_for(redis_url, web_sse_queue_size=200)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
        stalled_client(server.url),
        sse(client, "/api/stream") as fast,
    ):
        b = server.broadcaster
        await wait_for(lambda: len(b._subs) == 2)
        written: list[str] = []
        received: list[str] = []
        # publish until the drop: the stalled client is dropped once its socket and queue
        # are full AND its writer has not taken for SLOW_AFTER_S, which a fixed number of
        # rounds outran on a fast machine (60 rounds in under half a second)
        deadline = time.monotonic() + 30
        round_ = 0
        while not (b.dropped_slow and round_ >= 3 and len(b._subs) == 1):
            assert time.monotonic() < deadline, "the stalled client was never dropped"
            batch = [make_event(salt=round_ * 1000 + i, symbol="X" * 60) for i in range(200)]
            written += await xadd_now(redis, keys, batch)
            received += [e.id for e in await fast.liquidations(200)]
            round_ += 1
        assert b.dropped_slow == 1
        assert received == written
        # The fast client keeps receiving after the drop.
        (sid,) = await xadd_now(redis, keys, [make_event(salt=-1)])
        assert [e.id for e in await fast.liquidations(1)] == [sid]
        metrics = (await client.get("/metrics")).text
        assert "liqmon_web_sse_dropped_slow_total 1" in metrics


async def test_shutdown_ends_open_streams_promptly(redis_url: str, redis: Redis) -> None:
    settings = settings_for(redis_url)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
        sse(client, "/api/stream") as reader,
    ):
        await reader.until("summary", timeout=3)
        began = time.monotonic()
        server.server.should_exit = True
        with pytest.raises(EOFError):
            while True:
                await reader.next(timeout=5)
        await asyncio.wait_for(server.task, 5)
        assert time.monotonic() - began < 2.0


async def test_stalled_client_on_a_quiet_tape_is_dropped(
    redis_url: str, redis: Redis, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    # The queue never fills (huge), so only the stall timer can catch this client.
    caplog.set_level(logging.INFO, logger="liqmon_web.sse")
    settings = settings_for(
        redis_url, web_sse_queue_size=1_000_000, web_sse_keepalive_s=0.2, web_sse_stall_s=1.0
    )
    async with live_server(settings) as server, stalled_client(server.url):
        b = server.broadcaster
        await wait_for(lambda: len(b._subs) == 1)
        for round_ in range(20):  # fill the socket buffers, then go quiet
            batch = [make_event(salt=round_ * 1000 + i, symbol="X" * 60) for i in range(1000)]
            await xadd_now(redis, keys, batch)
        await wait_for(lambda: b.dropped_slow == 1, timeout=15)
        await wait_for(lambda: b.clients == 0)
        # its socket could not take the body's end: the connection is closed without it,
        # which is no error (uvicorn's "returned without completing response" is dropped
        # for exactly this response, sse.ABANDONED)
        await wait_for(lambda: "stalled socket" in caplog.text, timeout=5)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_per_address_limit_uses_forwarded_for_behind_a_trusted_proxy(
    redis_url: str, redis: Redis
) -> None:
    settings = settings_for(
        redis_url,
        web_max_sse_per_ip=1,
        web_proxy_headers=True,
        web_forwarded_allow_ips="127.0.0.1",
    )
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
        sse(client, "/api/stream", headers={"X-Forwarded-For": "203.0.113.7"}),
        sse(client, "/api/stream", headers={"X-Forwarded-For": "203.0.113.8"}),
    ):
        resp = await client.get("/api/stream", headers={"X-Forwarded-For": "203.0.113.7"})
        assert resp.status_code == 429
        assert "from 203.0.113.7" in resp.json()["error"]


async def test_a_too_long_replay_is_a_reset_then_continues_from_the_tip(
    redis_url: str, redis: Redis, keys: Keys
) -> None:
    ids = await xadd_now(redis, keys, [make_event(salt=i) for i in range(1200)])
    settings = settings_for(redis_url, web_sse_max_replay=500)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
        sse(client, "/api/stream", headers={"Last-Event-ID": ids[0]}) as reader,
    ):
        got = await reader.liquidations(501)
        assert [g.id for g in got[:500]] == ids[1:501]  # one page of 500 was replayed
        assert got[500].event == "reset" and got[500].id == ids[-1]
        await wait_for(lambda: len(server.broadcaster._subs) == 1)
        (sid,) = await xadd_now(redis, keys, [make_event(salt=-5)])
        assert [e.id for e in await reader.liquidations(1)] == [sid]
