"""`liqmon run web`: the REST API, the SSE stream and the dashboard, on uvicorn.

    liqmon run web [--host H] [--port P]

Settings come from the environment (settings.py; LIQMON_WEB_HOST/LIQMON_WEB_PORT, ...).

Reverse proxy. Behind nginx/Caddy/Traefik, set LIQMON_WEB_PROXY_HEADERS=true and
LIQMON_WEB_FORWARDED_ALLOW_IPS=<the proxy's address> (uvicorn's `--proxy-headers` and
`--forwarded-allow-ips`): the per-address SSE limit then counts the real client from
X-Forwarded-For instead of the proxy. The stream already sends `X-Accel-Buffering: no`
and `Cache-Control: no-cache`; in nginx also set `proxy_http_version 1.1;`,
`proxy_buffering off;` and `proxy_read_timeout` above the 15 s keep-alive, e.g.:

    location / {
        proxy_pass http://127.0.0.1:8000;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_buffering off;
        proxy_read_timeout 1h;
    }

Shutdown: SIGTERM/SIGINT end every open stream at once (clients reconnect elsewhere with
Last-Event-ID) and uvicorn's graceful timeout (LIQMON_WEB_GRACEFUL_SHUTDOWN_S, 5 s)
bounds the rest.
"""

from __future__ import annotations

import argparse

from liqmon.logs import configure_logging
from liqmon.runtime import tune_gc
from liqmon.settings import load_settings
from liqmon_web.app import create_app
from liqmon_web.server import build_server
from liqmon_web.settings import WebSettings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="liqmon run web")
    parser.add_argument("--host", help="overrides LIQMON_WEB_HOST")
    parser.add_argument("--port", type=int, help="overrides LIQMON_WEB_PORT")
    args = parser.parse_args(argv)
    settings = load_settings(WebSettings)
    configure_logging("web", settings.log_level)
    server = build_server(create_app(settings), settings, host=args.host, port=args.port)
    tune_gc()
    server.run()
    return 0
