"""Small real loopback exchange servers for the collector tests (WebSocket + REST on one port).

Not the exchange simulator: just enough venue behaviour to drive one collector scenario -
REST documents at exact paths, a WebSocket on any path, OKX-style subscribe acks and text
`ping`/`pong`, and levers a test pulls: push frames, drop connections, stall them (stop
reading the socket: no pongs, nothing flows), close connections at a maximum age.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from tests.polling import poll


class LoopbackVenue:
    def __init__(self, rest: dict[str, Any] | None = None, *, max_age: float | None = None) -> None:
        self.rest: dict[str, Any] = dict(rest or {})  # "/path?query" -> JSON document
        self.rest_hits: dict[str, int] = {}
        self.max_age = max_age
        self.connections: list[ServerConnection] = []
        self.paths: list[str] = []
        self.received: list[str] = []
        self.mute_pongs = False
        self.changed = asyncio.Event()
        self.on_subscribe: Callable[[ServerConnection, dict[str, Any]], Any] | None = None
        #: Sees every text message first; returns True when it handled it (Bybit JSON ops).
        self.on_message: Callable[[ServerConnection, str], Any] | None = None
        self._server: Server | None = None
        self.port = 0

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> LoopbackVenue:
        self._server = await serve(
            self._handler, "127.0.0.1", 0, process_request=self._http, ping_interval=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        for conn in list(self.connections):
            conn.transport.abort()
        self._server.close()
        await self._server.wait_closed()

    # --- REST ------------------------------------------------------------------------
    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        self.rest_hits[request.path] = self.rest_hits.get(request.path, 0) + 1
        if request.path not in self.rest:
            return connection.respond(404, "not found\n")
        body = orjson.dumps(self.rest[request.path])
        headers = Headers(
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return Response(200, "OK", headers, body)

    # --- WebSocket -------------------------------------------------------------------
    async def _handler(self, conn: ServerConnection) -> None:
        self.connections.append(conn)
        self.paths.append(conn.request.path if conn.request else "")
        self.changed.set()
        ager = asyncio.create_task(self._age_out(conn)) if self.max_age else None
        try:
            async for message in conn:
                text = message if isinstance(message, str) else message.decode()
                self.received.append(text)
                self.changed.set()
                if self.on_message is not None and await self.on_message(conn, text):
                    continue
                if text == "ping":
                    if not self.mute_pongs:
                        await conn.send("pong")
                    continue
                with contextlib.suppress(orjson.JSONDecodeError):
                    msg = orjson.loads(text)
                    if isinstance(msg, dict) and msg.get("op") == "subscribe":
                        await self._ack(conn, msg)
        except ConnectionClosed:
            pass
        finally:
            if ager is not None:
                ager.cancel()
            self.connections.remove(conn)
            self.changed.set()

    async def _ack(self, conn: ServerConnection, msg: dict[str, Any]) -> None:
        if self.on_subscribe is not None:
            await self.on_subscribe(conn, msg)
            return
        for arg in msg.get("args", []):
            await conn.send(
                orjson.dumps({"event": "subscribe", "arg": arg, "connId": "t1"}).decode()
            )

    async def _age_out(self, conn: ServerConnection) -> None:
        assert self.max_age is not None
        await asyncio.sleep(self.max_age)
        await conn.close(1000, "max connection age")

    # --- levers ----------------------------------------------------------------------
    def open_on(self, prefix: str = "") -> list[ServerConnection]:
        """Open connections whose request path starts with `prefix`."""
        return [c for c in self.connections if c.request and c.request.path.startswith(prefix)]

    async def broadcast(self, frame: str, prefix: str = "") -> int:
        """Send to every open connection on `prefix` (as the venue does); returns how many."""
        sent = 0
        for conn in self.open_on(prefix):
            with contextlib.suppress(ConnectionClosed):
                await conn.send(frame)
                sent += 1
        return sent

    def drop_all(self, prefix: str = "") -> None:
        for conn in self.open_on(prefix):
            conn.transport.abort()

    def stall_all(self, prefix: str = "") -> None:
        """Stop reading the open sockets: pings go unanswered, the socket stays open."""
        for conn in self.open_on(prefix):
            conn.transport.pause_reading()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("loopback venue: condition not met in time")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


async def poll_until(
    predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.02
) -> None:
    """Poll an (async or sync) predicate until true, or fail after `timeout`."""
    await poll(predicate, timeout, every=step)


@contextlib.asynccontextmanager
async def running(service: Any) -> AsyncIterator[asyncio.Event]:
    """Run a `CollectorService` in-process via `liqmon.runtime.serve`; stop it on exit."""
    from liqmon.runtime import serve as serve_service

    stop = asyncio.Event()
    task = asyncio.create_task(serve_service(service, stop=stop, shutdown_timeout=10.0))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def stream_reaches(redis: Any, keys: Any, n: int, timeout: float = 10.0) -> None:
    async def reached() -> bool:
        return int(await redis.xlen(keys.events)) >= n

    await poll_until(reached, timeout)


async def status_is(redis: Any, key: str, timeout: float = 10.0, **expected: str) -> dict[str, str]:
    """Poll the status hash until the given fields have the given values; return it."""
    seen: dict[str, str] = {}

    async def matches() -> bool:
        nonlocal seen
        seen = await redis.hgetall(key)
        return all(seen.get(k) == v for k, v in expected.items())

    try:
        await poll_until(matches, timeout)
    except AssertionError:
        raise AssertionError(f"status never matched {expected}: {seen}") from None
    return seen
