"""HTTP routes, thin: validate (deps.py), call one function, serialize with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def json_response(payload: Any, status: int = 200, cache_seconds: int = 0) -> Response:
    headers = {"Cache-Control": f"max-age={cache_seconds}" if cache_seconds else "no-store"}
    return Response(
        orjson.dumps(payload), status_code=status, media_type="application/json", headers=headers
    )


def raw_json_response(body: bytes) -> Response:
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})
