"""Smaller pieces in the real page: number/time formatting, expanded rankings, coin view."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.browser.conftest import WebServer
from tests.browser.events import (
    MARKET,
    RETENTION_MS,
    make_event,
    market_events,
    write,
    write_applied,
)
from tests.browser.pages import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(45)]  # Chromium + a web process

FORMAT_CASES = """async () => {
    const f = await import('/static/format.js');
    const local = new Date(2026, 10, 28, 7, 5, 9).getTime();
    return {
        compact: [0, 950, 12345, 999999, 1234567, 4.56e9].map(f.formatUsdCompact),
        full: [123456.7, 2500000].map(f.formatUsd),
        exact: f.formatUsdExact(1234.5),
        int: f.formatInt(1234567),
        price: ['97000.50', '0.00002134', '1234567'].map(f.formatPrice),
        time: f.formatTime(local),
        age: [3000, 245000, 7800000].map(f.formatAge),
        tiers: [9999, 10000, 100000, 500000, 1000000].map(f.tierOf),
        ids: [f.compareStreamIds('10-2', '9-5'), f.compareStreamIds('10-2', '10-10'),
              f.compareStreamIds('5-0', '5-0')],
        product: f.shortProduct('binance', 'binance-usdm'),
    };
}"""


async def test_formatting(web: WebServer, browser: Browser) -> None:
    page = await Dashboard.open(browser, web.url)
    got = await page.page.evaluate(FORMAT_CASES)
    assert got == {
        "compact": ["$0", "$950", "$12.3K", "$1.00M", "$1.23M", "$4.56B"],
        "full": ["$123,457", "$2.50M"],
        "exact": "$1,234.50",
        "int": "1,234,567",
        "price": ["97,000.50", "0.00002134", "1,234,567"],
        "time": "07:05:09",
        "age": ["3s", "4m 05s", "2h 10m"],
        "tiers": [0, 1, 2, 3, 4],
        "ids": [1, -1, 0],
        "product": "usdm",
    }


async def test_show_more_rankings_and_coin_view(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, redis_url: str
) -> None:
    events = market_events(300, spread_ms=20 * 60_000)
    events += [make_event(symbol, side="long", usd="500", price=price) for symbol, price in MARKET]
    await write_applied(redis, keys, redis_url, events)
    page = await Dashboard.open(browser, web.url)
    await page.page.wait_for_selector("#top-long li.rank")
    assert await page.page.locator("#top-long li.rank").count() == 10

    await page.page.click("#rank-more")
    await page.page.wait_for_function(
        "n => document.querySelectorAll('#top-long li.rank').length === n", arg=len(MARKET)
    )
    async with httpx.AsyncClient() as client:
        wide = (await client.get(f"{web.url}/api/summary", params={"top": 50})).json()
        btc = (await client.get(f"{web.url}/api/symbols/BTC")).json()
    shown = await page.page.eval_on_selector_all(
        "#top-long li.rank", "rs => rs.map(r => r.dataset.symbol)"
    )
    assert shown == [e["symbol"] for e in wide["windows"]["1h"]["top_long"]]
    await page.page.click("#rank-more")
    await page.page.wait_for_function(
        "document.querySelectorAll('#top-long li.rank').length === 10"
    )

    await page.page.click("#top-long button.coin[data-symbol=BTC]")
    await page.page.wait_for_selector("#coin-view[open] .coin-windows tbody tr[data-window='1h']")
    assert "coin=BTC" in page.page.url
    cells = await page.page.eval_on_selector_all(
        "#coin-view tr[data-window='1h'] td", "tds => tds.map(td => td.textContent)"
    )
    w = btc["windows"]["1h"]
    assert cells[0].startswith("$") and f"×{w['long_count']:,}" in cells[0]
    assert cells[2] not in ("", "–")  # average long liquidation price is shown
    await page.page.wait_for_selector("#coin-view .coin-tape li.row")
    symbols = await page.page.eval_on_selector_all(
        "#coin-view .coin-tape button.coin", "bs => bs.map(b => b.textContent)"
    )
    assert symbols and set(symbols) == {"BTC"}
    await page.page.click("#coin-view .coin-close")
    assert "coin=" not in page.page.url
    assert page.errors == [] and page.dialogs == []


async def test_a_third_exchange_appears_without_code_changes(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    """Bybit (no collector yet) shows up in health, the filter and the tape as soon as the
    API reports it: the page iterates over what the server sends."""
    from liqmon.collector.status import CollectorStatus

    status = CollectorStatus("bybit", keys, retention_ms=RETENTION_MS)
    status.add_feed("bybit-linear", "wss://example.invalid/v5/public/linear")
    status.connected("bybit-linear")
    await status.publish(redis)
    page = await Dashboard.open(browser, web.url)
    [stream_id] = await write(redis, keys, [make_event("BTC", "bybit", "short", "3000")])
    await page.wait_for_rows([stream_id])
    text = await page.page.inner_text(f'#tape li.row[data-id="{stream_id}"]')
    assert "bybit" in text and "linear" in text
    await page.page.wait_for_selector("#health li.collector[data-exchange=bybit]", timeout=8000)
    assert "connected" in await page.page.inner_text("#health li.collector[data-exchange=bybit]")
    # Bybit publishes every liquidation, Binance only a sample: the health rows say so.
    complete = "#health li.collector[data-exchange=bybit] .h-feed.feed-complete"
    assert await page.page.inner_text(complete) == "complete"
    assert await page.page.is_visible("#health li.collector[data-exchange=binance] .feed-sampled")
    assert await page.page.is_checked("#f-exchanges input[value=bybit]")

    for box in await page.page.query_selector_all("#f-exchanges input"):  # every other venue
        if await box.get_attribute("value") != "bybit":
            await box.uncheck()
    await page.page.click("#f-apply")
    assert "exchange=bybit" in page.page.url
    await page.wait_for_row_count(1)
    assert page.errors == []
