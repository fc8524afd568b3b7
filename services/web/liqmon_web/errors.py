"""Error responses: every client mistake is a 4xx naming the parameter, never a 500.

Body shape for all errors: `{"error": "<one readable sentence>", "detail": [...]}`. For
422 the `detail` list keeps FastAPI's validation-error items (`loc`, `msg`, `type`), so
the documented `HTTPValidationError` schema still holds; `error` names the parameter.
Redis being unreachable is not the client's fault either: it is a 503, not a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from liqmon.logs import LogOnce

logger = logging.getLogger(__name__)
_log_once = LogOnce(logger)


class ParamError(Exception):
    """A parameter that passed type checks but is still wrong (e.g. `since > until`)."""

    def __init__(self, param: str, message: str, where: str = "query") -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message
        self.where = where


def json_error(status: int, error: str, detail: Sequence[Any] = (), **headers: str) -> Response:
    body = orjson.dumps({"error": error, "detail": list(detail)})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _param_name(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "header", "body")]
    return ".".join(parts) or "request"


async def _on_validation(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    items = []
    for err in exc.errors():
        items.append(
            {"loc": list(err.get("loc", ())), "msg": str(err.get("msg")), "type": err.get("type")}
        )
    first = items[0] if items else {"loc": [], "msg": "invalid request"}
    message = f"invalid parameter '{_param_name(first['loc'])}': {first['msg']}"
    return json_error(422, message, items)


async def _on_param_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, ParamError)
    item = {"loc": [exc.where, exc.param], "msg": exc.message, "type": "value_error"}
    return json_error(422, f"invalid parameter '{exc.param}': {exc.message}", [item])


async def _on_http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    return json_error(exc.status_code, str(exc.detail), **headers)


async def _on_redis_error(request: Request, exc: Exception) -> Response:
    _log_once.warning(type(exc).__name__, "redis error serving %s: %s", request.url.path, exc)
    return json_error(503, "storage unavailable, retry shortly", **{"Retry-After": "2"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(ParamError, _on_param_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RedisError, _on_redis_error)
    app.add_exception_handler(TimeoutError, _on_redis_error)
