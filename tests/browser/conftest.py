"""Fixtures for the dashboard's real-browser tests.

The stack is real: `liqmon run web` as a child process on the session's test Redis, and
Debian's Chromium driven by Playwright (never `playwright install`). Each test gets a
fresh web process on a free port (the `web` fixture can stop and start it on the same
port) and a fresh browser; the `redis` fixture flushes the database first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright

from liqmon.embedded_redis import free_port
from tests.browser.pages import CHROMIUM, CHROMIUM_ARGS
from tests.procs import ServiceProcess

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class WebServer:
    """`liqmon run web` on a fixed port that survives stop/start (for the restart test)."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        self.env = {**env, "LIQMON_WEB_HOST": "127.0.0.1", "LIQMON_WEB_PORT": str(self.port)}
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.proc: ServiceProcess | None = None

    async def start(self, timeout: float = 20.0) -> None:
        self.proc = ServiceProcess("web", self.env, self.log_dir).start()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if not self.proc.alive():
                    raise RuntimeError(f"web exited early:\n{self.proc.log()[-3000:]}")
                try:
                    response = await client.get(f"{self.url}/api/health")
                    if response.status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"web not ready:\n{self.proc.log()[-3000:]}")
                await asyncio.sleep(0.05)  # poll interval of a deadline loop

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def log(self) -> str:
        return self.proc.log() if self.proc else ""


@pytest.fixture
async def web(
    service_env: dict[str, str], tmp_path: Path, redis: object
) -> AsyncIterator[WebServer]:
    """A running web service on a flushed test Redis (requests `redis` for the flush)."""
    server = WebServer(service_env, tmp_path)
    await server.start()
    yield server
    server.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        await instance.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
