"""The FastAPI application: `create_app(settings)` builds one, the lifespan wires it.

Per process, built in the lifespan and kept on `app.state` (never module globals):
- `redis`: the request client (BlockingConnectionPool: a burst waits for a connection
  instead of failing at the pool limit),
- a separate blocking-reader client for the broadcaster's `XREAD BLOCK`,
- `summary_cache`, `broadcaster`, the summary feed, and the tracked background tasks
  (TaskSet).
The lifespan does not wait for Redis: the process must come up and answer /api/health
with `"status": "down"` while Redis is away; the reader retries with backoff.

Only GET/HEAD routes exist (other methods get 405); CORS is off unless
`LIQMON_WEB_CORS_ORIGINS` lists origins. HTML gets a strict CSP ('self' only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from redis.exceptions import RedisError
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liqmon import __version__
from liqmon.redis_client import create_blocking_reader, create_redis
from liqmon.runtime import TaskSet
from liqmon_web.alertfeed import run_alert_feed
from liqmon_web.broadcaster import READ_BLOCK_MS, Broadcaster
from liqmon_web.errors import install_error_handlers
from liqmon_web.routes import alerts, api, ops, pages, stream, venues
from liqmon_web.routes.pages import STATIC_DIR
from liqmon_web.settings import WebSettings
from liqmon_web.snapshots import SummaryCache
from liqmon_web.summary_feed import SummaryFeed

logger = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
COMMON_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
#: Swagger UI renders its icons as data: images and sets inline styles.
DOCS_CSP = CSP.replace("img-src 'self'", "img-src 'self' data:").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)


class SecurityHeaders:
    """Pure ASGI (no BaseHTTPMiddleware: it would buffer the event stream through a
    memory stream). Adds nosniff/Referrer-Policy everywhere and the CSP on HTML."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/api/stream":
            await self.app(scope, receive, send)  # the stream sets its own headers
            return
        csp = (DOCS_CSP if scope["path"] == "/docs" else CSP).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += COMMON_HEADERS
                is_html = any(
                    k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers
                )
                if is_html:
                    headers.append((b"content-security-policy", csp))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """HEAD is answered like GET (the server drops the body; uvicorn keeps the original
    method in its own scope). FastAPI routes declare GET only, so without this HEAD would
    be a 405. Not for the endless stream: HEAD there stays 405."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD" and scope["path"] != "/api/stream":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)


def create_app(settings: WebSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = create_redis(settings.redis_url, max_connections=64, name="liqmon-web")
        reader = create_blocking_reader(
            settings.redis_url, block_ms=READ_BLOCK_MS, name="liqmon-web-reader"
        )
        cache = SummaryCache(
            redis,
            settings.keys,
            settings.web_summary_cache_ms,
            settings.web_summary_push_ms,
            collected=settings.web_expected_collectors,
        )
        broadcaster = Broadcaster(redis, reader, settings.keys, settings)
        feed = SummaryFeed(cache, broadcaster, settings.web_summary_push_ms)
        tasks = TaskSet()
        app.state.redis = redis
        app.state.summary_cache = cache
        app.state.broadcaster = broadcaster
        app.state.summary_feed = feed
        with contextlib.suppress(RedisError, OSError, TimeoutError):  # else: the reader retries
            await asyncio.wait_for(broadcaster.start_position(), 3.0)
        tasks.spawn(broadcaster.run_reader(), "web.stream-reader")
        tasks.spawn(broadcaster.run_housekeeping(), "web.stream-housekeeping")
        tasks.spawn(feed.run(), "web.summary-feed")
        alerts = run_alert_feed(
            reader, settings.keys, broadcaster.publish_alert, broadcaster.stopping
        )
        tasks.spawn(alerts, "web.alert-feed")  # SSE `event: alert` (alertfeed.py)
        logger.info("web service ready (prefix %s)", settings.key_prefix)
        try:
            yield
        finally:
            broadcaster.shutdown()
            await tasks.cancel_all(timeout=3.0)
            await cache.close()
            await reader.aclose()
            await redis.aclose()
            logger.info(
                "web service stopped: %d stream clients served, %d dropped as slow, %d refused",
                broadcaster.connections_total,
                broadcaster.dropped_slow,
                broadcaster.rejected,
            )

    app = FastAPI(
        title="liqmon",
        version=__version__,
        summary="Real-time crypto futures liquidations across exchanges: REST API and SSE.",
        lifespan=lifespan,
        docs_url=None,  # served from the vendored Swagger UI by routes/pages.py
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.keys = settings.keys
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(venues.router)
    app.include_router(stream.router)
    app.include_router(ops.router)
    app.include_router(alerts.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    if settings.web_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.web_cors_origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=["Last-Event-ID"],
            max_age=600,
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    return app
