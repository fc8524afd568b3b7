"""`liqmon run web` as a real process: answers, and stops promptly with a client attached."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from liqmon.embedded_redis import free_port
from tests.procs import running


def wait_healthy(url: str, timeout: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            resp = httpx.get(f"{url}/api/health", timeout=2)
            if resp.status_code == 200:
                body: dict[str, object] = resp.json()
                return body
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "web service did not answer"
        time.sleep(0.1)


def test_run_web_answers_and_stops_promptly_on_sigterm(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = {**service_env, "LIQMON_WEB_PORT": str(port)}
    url = f"http://127.0.0.1:{port}"
    with running("web", env, tmp_path) as web:
        assert wait_healthy(url)["status"] in ("ok", "degraded")
        with (
            httpx.Client(timeout=10) as client,
            client.stream("GET", f"{url}/api/stream") as stream,
        ):
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            began = time.monotonic()
            code = web.stop(timeout=15)
            took = time.monotonic() - began
            rest = list(lines)  # the server ended the stream: iteration finishes
        assert code == 0, web.log()
        assert took < 3.0, f"took {took:.1f}s\n{web.log()}"
        assert isinstance(rest, list)
        assert "stream client" in web.log()
