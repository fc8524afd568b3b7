"""Plain HTTP on the WebSocket ports: websockets' `process_request` sees every request
before the handshake. A WebSocket route of the venue goes on to the handshake; anything
else is answered by the port's Starlette app (`liqmon_sim.api`), called in-process through
httpx's ASGI transport, and its response returned as the handshake's HTTP answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import httpx
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from liqmon_sim.api import build_app

if TYPE_CHECKING:
    from liqmon_sim.simulator import ExchangeSimulator
    from liqmon_sim.venues.base import VenueServer

ProcessRequest = Callable[[ServerConnection, Request], Awaitable[Response | None]]
#: Response headers passed on from the app (websockets adds Date and Server).
_KEPT = ("content-type", "content-length", "retry-after")


def make_process_request(sim: ExchangeSimulator, server: VenueServer) -> ProcessRequest:
    transport = httpx.ASGITransport(app=build_app(sim, server), raise_app_exceptions=False)

    async def process_request(connection: ServerConnection, request: Request) -> Response | None:
        del connection
        if request.method == "GET" and server.route(request.path):
            return None  # a WebSocket route: let the handshake proceed
        reply = await transport.handle_async_request(
            httpx.Request(
                request.method,
                f"http://sim{request.path}",
                headers=list(request.headers.raw_items()),
            )
        )
        body = await reply.aread()
        headers = Headers([(k, v) for k, v in reply.headers.items() if k.lower() in _KEPT])
        headers["Connection"] = "close"  # websockets ends the connection after an answer
        return Response(reply.status_code, reply.reason_phrase, headers, body)

    return process_request
