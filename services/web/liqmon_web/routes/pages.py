"""The dashboard page (`/`) and the API docs (`/docs`); assets come from `/static` (app.py).

`/docs` is Swagger UI over `/openapi.json`, from a copy installed from npm
(services/web/frontend) instead of FastAPI's default CDN links, so it works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/")
async def index() -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/docs")
async def api_docs() -> Response:
    return FileResponse(STATIC_DIR / "api-docs.html", headers={"Cache-Control": "no-cache"})
