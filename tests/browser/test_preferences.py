"""Preferences that must stick: language (English / 中文) and the dismissed sampling note."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.browser.conftest import WebServer
from tests.browser.events import make_event, write
from tests.browser.pages import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(45)]  # Chromium + a web process


async def test_language_and_dismissed_note_persist(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    [stream_id] = await write(redis, keys, [make_event("BTC", side="short")])
    page = await Dashboard.open(browser, web.url)
    await page.wait_for_rows([stream_id])
    assert await page.page.text_content("#tape-title") == "Live tape"
    assert await page.page.is_visible("#sample-note")
    assert "sample" in (await page.page.text_content("#sample-note") or "")

    await page.page.click("#lang-toggle")
    assert await page.page.text_content("#tape-title") == "实时爆仓"
    assert await page.page.text_content(f'#tape li.row[data-id="{stream_id}"] .side-tag') == "空单"
    assert "lang=zh" in page.page.url
    await page.page.click("#sample-note-close")
    assert not await page.page.is_visible("#sample-note")

    await page.goto()  # a bare visit: both choices come back from localStorage
    assert await page.page.text_content("#tape-title") == "实时爆仓"
    assert await page.page.text_content("#conn") == "实时"
    assert not await page.page.is_visible("#sample-note")
    assert await page.page.get_attribute("html", "lang") == "zh-CN"

    await page.page.click("#lang-toggle")
    assert await page.page.text_content("#tape-title") == "Live tape"
    assert page.errors == [] and page.dialogs == []


async def test_alert_threshold_highlights_and_sound_is_off_by_default(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    page = await Dashboard.open(browser, web.url)
    button = page.page.locator("#sound-toggle")
    assert await button.get_attribute("aria-pressed") == "false"
    assert await page.page.input_value("#alert-threshold") == "1000000"  # the default
    [big] = await write(redis, keys, [make_event("BTC", usd="600000")])
    row = page.page.locator(f'#tape li.row[data-id="{big}"]')
    await row.wait_for()
    assert "whale" not in (await row.get_attribute("class") or "")
    assert await button.get_attribute("data-played") is None  # sound is off

    await page.page.select_option("#alert-threshold", "500000")
    assert "whale" in (await row.get_attribute("class") or "")  # re-marked at once
    await button.click()
    assert await button.get_attribute("aria-pressed") == "true"
    ids = await write(
        redis, keys, [make_event("ETH", usd="5000", price="3600"), make_event("SOL", usd="750000")]
    )
    await page.wait_for_rows(ids)
    await page.page.wait_for_selector("#sound-toggle[data-played='1']")  # only the big one

    await page.reload()  # both choices are remembered
    assert await button.get_attribute("aria-pressed") == "true"
    assert await page.page.input_value("#alert-threshold") == "500000"
    assert page.errors == []
