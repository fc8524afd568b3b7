"""`/docs` renders Swagger UI from the web service itself: no CDN, no CSP violation."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, ConsoleMessage, Request

from tests.browser.conftest import WebServer

pytestmark = [pytest.mark.browser, pytest.mark.timeout(45)]  # Chromium + a web process


async def test_docs_render_offline_under_the_csp(web: WebServer, browser: Browser) -> None:
    page = await browser.new_page()
    foreign: list[str] = []
    problems: list[str] = []

    def on_request(request: Request) -> None:
        local = urlsplit(request.url).netloc in ("", f"127.0.0.1:{web.port}")
        if not local and not request.url.startswith("data:"):
            foreign.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("request", on_request)
    page.on("console", on_console)
    response = await page.goto(f"{web.url}/docs")
    assert response is not None and response.status == 200
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    # Swagger UI lists every operation once it has fetched and rendered /openapi.json.
    await page.locator(".opblock-summary-path", has_text="/api/summary").wait_for(timeout=10_000)
    assert await page.locator(".opblock").count() >= 6
    assert foreign == []
    assert problems == []
    await page.close()
