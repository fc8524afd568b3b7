"""The simulator's plain-HTTP surface, one Starlette app per venue port (`build_app`).

Every port answers its venue's REST routes (as `VenueServer.rest` gives them, with the
injected REST failures) and the simulator's own control API, the same on every port:

    GET  /_sim/stats                      venues, runs (each: generated, emitted, where
                                          it is on its schedule: elapsed_s, behind_s),
                                          ledger totals, done
    GET  /_sim/ledger?since=&limit=&run=&venue=   entries (seq > since) + totals
    GET  /_sim/totals?run=                unique liquidations: count/cents by venue/side/coin
    GET  /_sim/wait?run=&timeout=5        long-poll (at most 5 s: ask again after a 408):
                                          200 + the run once it is done, else 408
    GET  /_sim/scenarios                  registered scenario names
    POST /_sim/control?action=…&…         see liqmon_sim.control

Control parameters come in the query string, `POST /_sim/control?action=disconnect&venue=okx`;
a value that is valid JSON is parsed (`n=5` is a number, `kinds=a,b` stays text). A venue
port speaks the HTTP of a WebSocket handshake, which has no request body: websockets closes
a connection whose request carries one, before any route sees it. Errors are JSON
`{"error": …}`: 400 for a bad parameter (naming it), 404, 405, 403 when control is disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from liqmon_sim.control import ControlError
from liqmon_sim.scenarios import scenario_names

#: websockets' opening-handshake timeout on every venue port: an HTTP answer is part of the
#: handshake, so no answer may take longer (the connection is cut without a response).
OPEN_TIMEOUT_S = 10.0
#: The longest a long-poll (`/_sim/wait`) holds a request: well inside OPEN_TIMEOUT_S even
#: on a loaded machine; a client that wants to wait longer asks again after a 408.
LONG_POLL_MAX_S = 5.0

if TYPE_CHECKING:
    from liqmon_sim.simulator import ExchangeSimulator
    from liqmon_sim.venues.base import VenueServer

T = TypeVar("T")


class Json(JSONResponse):
    """orjson: ledger pages hold thousands of entries."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _value(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _param(request: Request, name: str, parse: Callable[[str], T], what: str) -> T | None:
    """Query parameter `name` parsed by `parse`; None when absent, 400 naming it when bad."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise ControlError(f"{name} must be {what}, got {raw!r}") from None


def _int(request: Request, name: str) -> int | None:
    return _param(request, name, int, "an integer")


def build_app(sim: ExchangeSimulator, server: VenueServer) -> Starlette:
    """The HTTP routes of one venue port: `server`'s REST and the simulator's `/_sim`."""

    async def stats(request: Request) -> Response:
        del request
        return Json(sim.stats())

    async def totals(request: Request) -> Response:
        run = _int(request, "run")
        return Json((sim.ledger.totals if run is None else sim.ledger.run_totals(run)).as_dict())

    async def ledger(request: Request) -> Response:
        since = _int(request, "since") or 0
        limit = _int(request, "limit") or 10_000
        run = _int(request, "run")
        venue = request.query_params.get("venue")
        entries = sim.ledger.select(since=since, limit=limit, run=run, venue=venue)
        run_totals = sim.ledger.totals if run is None else sim.ledger.run_totals(run)
        return Json(
            {
                "entries": [e.as_dict() for e in entries],
                "next": entries[-1].seq if entries else since,
                "last_seq": sim.ledger.last_seq,
                "totals": run_totals.as_dict(),
            }
        )

    async def wait(request: Request) -> Response:
        run = _int(request, "run")
        timeout = _param(request, "timeout", float, "a number of seconds")
        # bounded: the answer is part of the port's WebSocket handshake (liqmon_sim.http)
        timeout = LONG_POLL_MAX_S if timeout is None else min(timeout, LONG_POLL_MAX_S)
        if run is not None and run not in sim.driver.runs:
            raise ControlError(f"run {run} does not exist")
        try:
            return Json(await sim.wait_done(timeout=timeout, run=run))
        except TimeoutError:
            body = {"error": f"run not done after {timeout}s", "runs": sim.stats()["runs"]}
            return Json(body, status_code=408)
        except ValueError as exc:  # an endless run
            raise ControlError(str(exc)) from None

    async def scenarios(request: Request) -> Response:
        del request
        return Json({"scenarios": scenario_names()})

    async def control(request: Request) -> Response:
        if not sim.settings.sim_control_enabled:
            return Json({"error": "control is disabled (LIQMON_SIM_CONTROL_ENABLED)"}, 403)
        params = {k: _value(v) for k, v in request.query_params.items()}
        action = params.pop("action", None)
        if not isinstance(action, str):
            raise ControlError("action is required, e.g. ?action=disconnect")
        return Json(await sim.control(action, **params))

    async def venue_rest(request: Request) -> Response:
        path = request.url.path
        query = {k: request.query_params.getlist(k) for k in request.query_params}
        answer = server.rest(path, query)
        if answer is None:
            return Json({"error": f"no route {path}"}, 404)
        failure = server.next_rest_failure()
        if failure is not None:
            server.stats["rest_failures_injected"] += 1
            return Json(server.rest_error(failure), failure)
        server.stats["rest_requests"] += 1
        status, body = answer
        return Json(body, status)

    async def bad_parameter(request: Request, exc: Exception) -> Response:
        del request
        return Json({"error": str(exc)}, 400)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        what = f"{request.method} not allowed on" if exc.status_code == 405 else "no route"
        return Json({"error": f"{what} {request.url.path}"}, exc.status_code)

    return Starlette(
        routes=[
            Mount(
                "/_sim",
                routes=[
                    Route("/stats", stats, methods=["GET"]),
                    Route("/totals", totals, methods=["GET"]),
                    Route("/ledger", ledger, methods=["GET"]),
                    Route("/wait", wait, methods=["GET"]),
                    Route("/scenarios", scenarios, methods=["GET"]),
                    Route("/control", control, methods=["POST"]),
                ],
            ),
            Route("/{path:path}", venue_rest, methods=["GET"]),
        ],
        exception_handlers={ControlError: bad_parameter, HTTPException: http_error},
    )
