"""Plain HTTP on the WebSocket ports: venue REST routes and the `/_sim/*` endpoints.

websockets' `process_request` sees every request before the handshake; returning a
Response answers it as plain HTTP, returning None lets the WebSocket handshake go on.
websockets parses only body-less requests, so `BodyTakingConnection` lifts a POST's body
off the wire before websockets sees the request. Control parameters may therefore come as a
JSON object body, `POST /_sim/control {"action":"disconnect","venue":"okx"}`, or in the
query string, `POST /_sim/control?action=disconnect&venue=okx` (query values are parsed as
JSON when they are valid JSON: `n=5` is a number, `kinds=a,b` stays text); both may be
combined, the query winning.

    GET  /_sim/stats                      venues, runs, ledger totals, done
    GET  /_sim/ledger?since=&limit=&run=&venue=   entries (seq > since) + totals
    GET  /_sim/totals?run=                unique liquidations: count/cents by venue/side/coin
    GET  /_sim/wait?run=&timeout=30       long-poll: 200 + the run once it is done, else 408
    GET  /_sim/scenarios                  registered scenario names
    POST /_sim/control?action=…           see liqmon_sim.control
"""

from __future__ import annotations

import http
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from liqmon_sim.control import ControlError
from liqmon_sim.scenarios import scenario_names

if TYPE_CHECKING:
    from liqmon_sim.simulator import ExchangeSimulator
    from liqmon_sim.venues.base import VenueServer

logger = logging.getLogger(__name__)

ProcessRequest = Callable[[ServerConnection, Request], Awaitable[Response | None]]
MAX_HEAD = 64 * 1024
MAX_BODY = 1 << 20
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*", re.IGNORECASE)


class BodyTakingConnection(ServerConnection):
    """A ServerConnection that takes a POST request's body off the wire (kept in `body`) and
    hands websockets the same request with `Content-Length: 0`. Anything else (GET, the
    WebSocket handshake, later frames) passes straight through."""

    body: bytes = b""
    _buffer: bytearray | None = None
    _sniffed: bool = False

    def data_received(self, data: bytes) -> None:
        if self._sniffed:
            super().data_received(data)
            return
        buf = self._buffer = (self._buffer or bytearray()) + data
        if len(buf) < 5 and b"POST ".startswith(bytes(buf)):
            return  # too early to tell
        if not buf.startswith(b"POST "):
            self._pass_on(bytes(buf))
            return
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                self._pass_on(bytes(buf))  # websockets refuses it
            return
        head = bytes(buf[: end + 2])
        match = _CONTENT_LENGTH.search(head)
        length = int(match.group(1)) if match else 0
        if length > MAX_BODY:
            self._pass_on(bytes(buf))
            return
        if len(buf) < end + 4 + length:
            return  # the rest of the body is still on its way
        self.body = bytes(buf[end + 4 : end + 4 + length])
        if match:
            head = head[: match.start()] + b"\r\nContent-Length: 0" + head[match.end() :]
        self._pass_on(head + b"\r\n" + bytes(buf[end + 4 + length :]))

    def _pass_on(self, data: bytes) -> None:
        self._sniffed = True
        self._buffer = None
        super().data_received(data)


def json_response(status: int, body: Any) -> Response:
    data = orjson.dumps(body)
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Connection", "close"),
        ]
    )
    return Response(status, http.HTTPStatus(status).phrase, headers, data)


def _value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _int_param(query: dict[str, list[str]], name: str, default: int | None) -> int | None:
    raw = query.get(name, [None])[0]
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ControlError(f"{name} must be an integer, got {raw!r}") from None


def make_process_request(sim: ExchangeSimulator, server: VenueServer) -> ProcessRequest:
    async def process_request(connection: ServerConnection, request: Request) -> Response | None:
        split = urlsplit(request.path)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            if split.path.startswith("/_sim/"):
                body = getattr(connection, "body", b"")
                return await _sim_route(sim, request.method, split.path, query, body)
            if request.method == "GET" and server.route(request.path):
                return None  # a WebSocket route: let the handshake proceed
            if request.method != "GET":
                return json_response(
                    405, {"error": f"{request.method} not allowed on {split.path}"}
                )
            failure = server.next_rest_failure()
            if failure is not None and server.rest(split.path, query) is not None:
                server.stats["rest_failures_injected"] += 1
                return json_response(failure, server.rest_error(failure))
            answer = server.rest(split.path, query)
            if answer is None:
                return json_response(404, {"error": f"no route {split.path}"})
            server.stats["rest_requests"] += 1
            return json_response(*answer)
        except ControlError as exc:
            return json_response(400, {"error": str(exc)})

    return process_request


def _body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ControlError("the body must be a JSON object") from None
    if not isinstance(params, dict):
        raise ControlError("the body must be a JSON object")
    return params


async def _sim_route(
    sim: ExchangeSimulator, method: str, path: str, query: dict[str, list[str]], body: bytes
) -> Response:
    if path == "/_sim/control":
        if method != "POST":
            return json_response(405, {"error": "use POST /_sim/control?action=…"})
        if not sim.config.control_enabled:
            return json_response(403, {"error": "control is disabled (LIQMON_SIM_CONTROL_ENABLED)"})
        params = _body(body)
        params.update({k: _value(v[-1]) for k, v in query.items()})
        action = params.pop("action", None)
        if not isinstance(action, str):
            raise ControlError("action is required, e.g. ?action=disconnect")
        return json_response(200, await sim.control(action, **params))
    if method != "GET":
        return json_response(405, {"error": f"{method} not allowed on {path}"})
    if path == "/_sim/stats":
        return json_response(200, sim.stats())
    if path == "/_sim/totals":
        run = _int_param(query, "run", None)
        totals = sim.ledger.totals if run is None else sim.ledger.run_totals(run)
        return json_response(200, totals.as_dict())
    if path == "/_sim/ledger":
        since = _int_param(query, "since", 0) or 0
        limit = _int_param(query, "limit", 10_000) or 10_000
        run = _int_param(query, "run", None)
        venue = query.get("venue", [None])[0]
        entries = sim.ledger.select(since=since, limit=limit, run=run, venue=venue)
        totals = sim.ledger.totals if run is None else sim.ledger.run_totals(run)
        return json_response(
            200,
            {
                "entries": [e.as_dict() for e in entries],
                "next": entries[-1].seq if entries else since,
                "last_seq": sim.ledger.last_seq,
                "totals": totals.as_dict(),
            },
        )
    if path == "/_sim/wait":
        return await _wait(sim, query)
    if path == "/_sim/scenarios":
        return json_response(200, {"scenarios": scenario_names()})
    return json_response(404, {"error": f"no route {path}"})


async def _wait(sim: ExchangeSimulator, query: dict[str, list[str]]) -> Response:
    run = _int_param(query, "run", None)
    raw = query.get("timeout", ["30"])[0]
    try:
        timeout = float(raw)
    except ValueError:
        raise ControlError(f"timeout must be a number of seconds, got {raw!r}") from None
    if run is not None and run not in sim.driver.runs:
        raise ControlError(f"run {run} does not exist")
    try:
        return json_response(200, await sim.wait_done(timeout=timeout, run=run))
    except TimeoutError:
        return json_response(
            408, {"error": f"run not done after {timeout}s", "runs": sim.stats()["runs"]}
        )
    except ValueError as exc:
        raise ControlError(str(exc)) from None
