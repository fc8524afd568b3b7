"""uvicorn, configured for an app that holds long-lived event streams.

uvicorn's graceful shutdown waits for in-flight responses, and an SSE response never
ends by itself; its lifespan shutdown only runs AFTER that wait. So `WebServer` ends
every stream (broadcaster.shutdown) at the START of uvicorn's shutdown, by overriding
`Server.shutdown` rather than monkeypatching `handle_exit` as sse-starlette does;
`timeout_graceful_shutdown` bounds the rest. The process then exits with status 0.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from liqmon_web.settings import WebSettings
from liqmon_web.sse import AbandonedResponseFilter

#: One instance: adding it again is a no-op (`Logger.addFilter` keeps each once).
_ABANDONED_FILTER = AbandonedResponseFilter()


class WebServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._fastapi = app

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """As uvicorn's, minus re-raising the signal after a clean shutdown: for
        `liqmon run web` SIGTERM is the normal way to stop, so the exit status is 0."""
        with super().capture_signals():
            yield
            self._captured_signals.clear()

    async def shutdown(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        broadcaster = getattr(self._fastapi.state, "broadcaster", None)
        if broadcaster is not None:
            broadcaster.shutdown()
        await super().shutdown(sockets)  # type: ignore[arg-type]


def build_server(
    app: FastAPI, settings: WebSettings, *, host: str | None = None, port: int | None = None
) -> WebServer:
    logging.getLogger("uvicorn.error").addFilter(_ABANDONED_FILTER)
    config = uvicorn.Config(
        app,
        host=host or settings.web_host,
        port=port if port is not None else settings.web_port,
        proxy_headers=settings.web_proxy_headers,
        forwarded_allow_ips=settings.web_forwarded_allow_ips,
        timeout_graceful_shutdown=settings.web_graceful_shutdown_s,
        log_config=None,  # liqmon.logs configures logging once per process
        access_log=False,
        server_header=False,
        lifespan="on",
    )
    return WebServer(config, app)
