"""The alerts panel in the real page: listed from /api/alerts, pushed by SSE `event: alert`,
rendered as text, and raised as a browser notification when asked for."""

from __future__ import annotations

import time

import orjson
import pytest
from playwright.async_api import Browser
from redis.asyncio import Redis

from liqmon.alert import ALERT_VERSION, alert_id
from liqmon.keys import Keys
from tests.aggregator.factory import make_event
from tests.browser.conftest import WebServer
from tests.browser.pages import SUBSCRIBED_PROBE, Dashboard

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__pwned=1">'
#: Headless Chromium has no notification service: the page gets a recorder with the same
#: surface (permission, requestPermission, the constructor's title and options).
NOTIFICATION_RECORDER = """
window.__notes = [];
window.Notification = class {
  static permission = "default";
  static async requestPermission() { this.permission = "granted"; return "granted"; }
  constructor(title, options) { window.__notes.push({title, ...options}); }
};
"""


async def fire(redis: Redis, keys: Keys, n: int, symbol: str = "BTC") -> str:
    now = time.time_ns() // 1_000_000
    event = make_event(n, now, symbol=symbol, side="short", cents=250_000_000)
    aid = alert_id("large", "whale", event.id)
    fields = {
        "v": ALERT_VERSION, "id": aid, "rule": "whale", "kind": "large", "channels": "phone",
        "fired_at": str(now), "ts": str(event.ts),
        "event": orjson.dumps(event.to_json_dict()).decode(),
    }  # fmt: skip
    await redis.xadd(keys.alerts, fields)  # type: ignore[arg-type]
    return aid


async def test_alert_panel_lists_pushes_and_notifies(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    await redis.hset(keys.alerter_channels, "phone", "telegram")
    first = await fire(redis, keys, 1, symbol=HOSTILE)
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    await context.add_init_script(NOTIFICATION_RECORDER)
    await context.add_init_script(SUBSCRIBED_PROBE)  # goto() waits for the stream
    page = Dashboard(await context.new_page(), web.url)
    try:
        await page.goto()
        panel = page.page.locator("#alert-panel")
        await panel.locator(f'li[data-id="{first}"]').wait_for()
        title = await panel.locator(f'li[data-id="{first}"] .alert-title').text_content()
        assert title == f"🟢 SHORT liquidated: {HOSTILE} $2.50M"
        assert await page.page.evaluate("window.__pwned") is None
        assert await panel.locator("img").count() == 0

        await panel.locator(".alert-notify").click()
        await page.page.wait_for_selector(".alert-notify[aria-pressed=true]")
        second = await fire(redis, keys, 2)  # arrives through SSE `event: alert`
        await panel.locator(f'li[data-id="{second}"]').wait_for()
        ids = await panel.locator("li.alert-item").evaluate_all("els => els.map(e => e.dataset.id)")
        assert ids == [second, first]  # newest first
        notes = await page.page.evaluate("window.__notes")
        assert notes == [
            {
                "title": "🟢 SHORT liquidated: BTC $2.50M",
                "body": notes[0]["body"],
                "tag": second,
            }
        ]
        assert "Binance binance-usdm BTC-USDT @ 95,000.5" in notes[0]["body"]
        assert page.errors == [] and page.dialogs == []
    finally:
        await context.close()


async def test_alert_panel_stays_hidden_without_an_alerter(
    web: WebServer, browser: Browser
) -> None:
    page = await Dashboard.open(browser, web.url)
    try:
        # the panel asked the API (health says no alerter ran, no alerts): still hidden
        await page.page.wait_for_function(
            "performance.getEntriesByType('resource').some(e => e.name.includes('/api/alerts'))"
        )
        await page.settle()
        assert await page.page.locator("#alert-panel").is_hidden()
        assert page.errors == []
    finally:
        await page.close()
