"""Property-based fuzzing of every REST operation from /openapi.json: no 5xx, ever.

The schema is taken from the app itself (no server needed at import); the calls go to a
real uvicorn (in a thread) on the test Redis, which holds a few events so the handlers
do real work. `/api/stream` gets its own run: schemathesis reads an event stream until
one data event arrives, then closes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis as sync_redis
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from liqmon.embedded_redis import free_port
from liqmon.keys import Keys
from liqmon_web.app import create_app
from liqmon_web.server import build_server
from tests.web.helpers import make_event, settings_for

spec = create_app(settings_for("redis://127.0.0.1:1/0")).openapi()
schema = schemathesis.openapi.from_dict(spec).exclude(path="/api/stream")


@pytest.fixture(scope="module")
def base_url(redis_url: str) -> Iterator[str]:
    client = sync_redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    for i in range(50):
        ev = make_event(symbol=("BTC", "ETH")[i % 2], side=("long", "short")[i % 3 % 2], salt=i)
        client.xadd(Keys("liq").events, ev.to_fields())  # type: ignore[arg-type]
    client.close()
    settings = settings_for(redis_url)
    port = free_port()
    server = build_server(create_app(settings), settings, host="127.0.0.1", port=port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case, base_url: str) -> None:
    response = case.call(base_url=base_url, timeout=10)
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )


# Schemathesis reads an event stream until `max-stream-events` data events arrive: the
# first one (the summary) is enough to know the parameters were accepted.
stream_schema = schemathesis.openapi.from_dict(
    spec, config=SchemathesisConfig.from_dict({"max-stream-events": 1})
).include(path="/api/stream")


@stream_schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_stream_parameters_never_cause_server_errors(
    case: schemathesis.Case, base_url: str
) -> None:
    response = case.call(base_url=base_url, timeout=5)
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
    if response.status_code == 200:
        assert response.headers["content-type"][0].startswith("text/event-stream")
        assert b"event: summary" in response.content or b"event: reset" in response.content
