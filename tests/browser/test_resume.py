"""The page survives the server: restart → resume with Last-Event-ID; lost history → reset."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.browser.conftest import WebServer
from tests.browser.events import make_event, write
from tests.browser.pages import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(45)]  # Chromium + a web process


async def _rows_then_outage(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> tuple[Dashboard, list[str], list[str]]:
    """A page showing three BTC rows (`before`), then the web server stopped (the page saw
    it go) and three ETH events (`during`) written while it is down. The server stays down."""
    page = await Dashboard.open(browser, web.url)
    before = await write(redis, keys, [make_event("BTC", usd=str(1000 + i)) for i in range(3)])
    await page.wait_for_rows(before)

    web.stop()
    await page.page.wait_for_selector("#conn:not([data-state=live])", timeout=10_000)
    during = await write(redis, keys, [make_event("ETH", usd=str(2000 + i)) for i in range(3)])
    return page, before, during


async def test_tape_resumes_after_web_restart_without_duplicates(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    page, before, during = await _rows_then_outage(web, browser, redis, keys)
    await web.start()

    await page.wait_for_rows(during, timeout=15_000)
    await page.wait_live()
    after = await write(redis, keys, [make_event("SOL", usd="3000")])
    await page.wait_for_rows(after)
    await page.settle()
    ids = await page.tape_ids()
    assert len(ids) == len(set(ids)), "duplicate rows"
    assert ids == list(reversed(before + during + after))  # newest first, nothing missing
    assert page.errors == [] and page.dialogs == []


async def test_reset_when_resume_point_was_trimmed_clears_and_refills(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    page, before, during = await _rows_then_outage(web, browser, redis, keys)
    # retention passed the page's resume point: the server must answer `event: reset`
    await redis.xtrim(keys.events, minid=during[0], approximate=False)
    await web.start()

    await page.wait_for_rows(during, timeout=15_000)
    await page.wait_for_rows_gone(before)
    after = await write(redis, keys, [make_event("SOL", usd="3000")])
    await page.wait_for_rows(after)
    await page.settle()
    assert await page.tape_ids() == list(reversed(during + after))
    assert page.errors == [] and page.dialogs == []
