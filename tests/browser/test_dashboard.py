"""The dashboard in a real Chromium against the real web service and test Redis.

Each test writes events to the real stream (and, where summaries matter, folds them into
the windows with the aggregator's `drain`), then looks at what the page shows.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.browser.conftest import WebServer
from tests.browser.events import make_event, market_events, write, write_applied
from tests.browser.pages import DESKTOP, PHONE, Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(45)]  # Chromium + a web process

HOSTILE = "<img src=x onerror=alert(1)>"


async def test_streamed_event_appears_in_tape(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    page = await Dashboard.open(browser, web.url)
    event = make_event("TAPEX", "okx", "short", "250000", "1.2345")
    [stream_id] = await write(redis, keys, [event])
    row = page.page.locator(f'#tape li.row[data-id="{stream_id}"]')
    await row.wait_for(state="visible")  # how fast: bench/web.py, not a timed assertion
    text = await row.inner_text()
    assert "TAPEX" in text and "okx" in text and "swap" in text and "1.2345" in text
    assert "$250,000" in text
    classes = (await row.get_attribute("class") or "").split()
    assert "short" in classes and "tier-2" in classes  # green, bold tier
    assert page.errors == [] and page.dialogs == []


async def test_filters_cut_the_tape_on_the_server_and_survive_reload(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    await write(
        redis,
        keys,
        [
            make_event("BTC", "binance", "long", "50000"),
            make_event("ETH", "okx", "short", "60000", "3600"),
            make_event("BTC", "okx", "short", "5000"),  # below the minimum
            make_event("SOL", "binance", "short", "70000", "240"),
        ],
    )
    page = await Dashboard.open(browser, web.url)
    await page.wait_for_row_count(4)

    await page.page.fill("#f-symbol", "btc, sol")
    await page.page.fill("#f-min", "10000")
    await page.page.click("#f-apply")
    await page.wait_for_row_count(2)
    assert sorted(await page.tape_symbols()) == ["BTC", "SOL"]
    assert "symbol=BTC,SOL" in page.page.url and "min_usd=10000" in page.page.url

    # live events are filtered by the server: the ETH one never reaches the page, and the
    # BTC one written after it proves the stream has moved past it
    ids = await write(
        redis, keys, [make_event("ETH", "binance", "long", "99000", "3600"), make_event("BTC")]
    )
    await page.wait_for_rows([ids[1]])
    assert ids[0] not in await page.tape_ids()
    assert sorted(await page.tape_symbols()) == ["BTC", "BTC", "SOL"]

    await page.reload()  # the URL reproduces the view
    await page.wait_for_row_count(3)
    assert await page.page.input_value("#f-symbol") == "BTC,SOL"
    assert await page.page.input_value("#f-min") == "10000"

    await page.goto()  # a bare visit restores the stored filters
    await page.wait_for_row_count(3)
    assert await page.page.input_value("#f-symbol") == "BTC,SOL"

    # a shared link with exchange + side filters
    await page.goto("?exchange=okx&side=short")
    await page.wait_for_row_count(2)
    assert sorted(await page.tape_symbols()) == ["BTC", "ETH"]
    assert await page.page.is_checked("#f-exchanges input[value=okx]")
    assert not await page.page.is_checked("#f-exchanges input[value=binance]")
    assert await page.page.input_value("#f-side") == "short"

    await page.page.click("#f-clear")
    await page.wait_for_row_count(6)
    assert "symbol=" not in page.page.url and "exchange=" not in page.page.url

    # a filter the server refuses is shown, not retried forever
    await page.page.goto(f"{web.url}/?min_usd=1000000000000")
    await page.page.wait_for_selector("#conn[data-state=refused]")
    assert "min_usd" in (await page.page.text_content("#tape .tape-empty.error") or "")
    assert page.errors == [] and page.dialogs == []


async def test_cards_agree_with_api_summary(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, redis_url: str
) -> None:
    await write_applied(redis, keys, redis_url, market_events(80, spread_ms=2 * 60_000))
    page = await Dashboard.open(browser, web.url)
    await page.page.wait_for_selector("#cards .card[data-window='1d'] .long-usd")
    async with httpx.AsyncClient() as client:
        summary = (await client.get(f"{web.url}/api/summary")).json()

    expected = {
        name: {
            "long_usd": w["long_usd"],
            "short_usd": w["short_usd"],
            "long_count": w["long_count"],
            "short_count": w["short_count"],
            "largest_usd": w["largest"]["usd"] if w["largest"] else None,
            "incomplete": w["incomplete"],
            "capped_seconds": w["capped_seconds"],
        }
        for name, w in summary["windows"].items()
    }
    assert set(expected) == {"3m", "15m", "1h", "4h", "12h", "1d"}
    assert expected["3m"]["long_count"] + expected["3m"]["short_count"] == 80
    assert await page.cards() == expected

    # the exchange split and the rankings of the selected window (1h by default)
    w = summary["windows"]["1h"]
    split = await page.page.eval_on_selector_all(
        "#window-detail tr[data-exchange]",
        """rows => rows.map(r => [r.dataset.exchange,
            ...[...r.querySelectorAll('td')].map(td => Number(td.dataset.value))])""",
    )
    want = [[x, v["long_usd"], v["short_usd"]] for x, v in w["by_exchange"].items()]
    assert split == [*want, ["total", w["long_usd"], w["short_usd"]]]
    top_long = await page.page.eval_on_selector_all(
        "#top-long li.rank", "rs => rs.map(r => [r.dataset.symbol, Number(r.dataset.value)])"
    )
    assert top_long == [[e["symbol"], e["usd"]] for e in w["top_long"]]

    # selecting another window re-targets the rankings
    await page.page.click("#cards .card[data-window='3m']")
    await page.page.wait_for_selector("#window-detail table[data-window='3m']")
    assert "window=3m" in page.page.url
    assert page.errors == [] and page.dialogs == []


async def test_hostile_coin_name_is_shown_as_text(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, redis_url: str
) -> None:
    await write_applied(
        redis, keys, redis_url, [make_event(HOSTILE, "binance", "long", "2500000", "1.5")]
    )
    page = await Dashboard.open(browser, web.url)
    [stream_id] = await write(redis, keys, [make_event(HOSTILE, "okx", "short", "40000", "1.5")])
    await page.wait_for_rows([stream_id])
    await page.page.wait_for_selector("#top-long li.rank")

    texts = await page.page.eval_on_selector_all("button.coin", "bs => bs.map(b => b.textContent)")
    assert texts.count(HOSTILE) >= 4  # two tape rows, a card's largest, the ranking
    await page.page.click(f'#tape li.row[data-id="{stream_id}"] button.coin')
    await page.page.wait_for_selector("#coin-view[open] .coin-windows tbody tr")
    assert await page.page.text_content("#coin-view .coin-title") == HOSTILE
    await page.page.wait_for_selector("#coin-view .coin-tape li.row")
    # nothing was parsed as markup: no <img> exists anywhere, so no onerror can ever fire
    assert await page.page.evaluate("document.querySelectorAll('img').length") == 0
    await page.settle()
    assert page.dialogs == [] and page.errors == []


async def test_layouts_phone_desktop_4k(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, artifacts: Path
) -> None:
    events = market_events(150, spread_ms=30 * 60_000)
    events.append(make_event("A" * 60, "okx", "long", "98765432.10", "123456.789"))
    await write(redis, keys, events)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = await Dashboard.open(browser, web.url, viewport=viewport)
        await page.wait_for_row_count(151)
        await page.page.wait_for_selector("#cards .card")
        await page.settle()
        width, client = await page.no_horizontal_scroll()
        assert width <= client, f"{name}: horizontal scroll {width} > {client}"
        await page.page.screenshot(path=artifacts / f"{name}.png", full_page=name == "phone")
        assert page.errors == []
        await page.close()
    page = await Dashboard.open(browser, web.url, viewport={"width": 3840, "height": 2160})
    await page.wait_for_row_count(151)
    width, client = await page.no_horizontal_scroll()
    assert width <= client
    font = await page.page.evaluate(
        "parseFloat(getComputedStyle(document.documentElement).fontSize)"
    )
    assert font >= 20  # scaled up for a 4K screen


async def test_desktop_with_realistic_data(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, redis_url: str, artifacts: Path
) -> None:
    """Many coins on both exchanges, saved as a test artifact. (The README's picture comes
    from the live demo stack: `python -m tests.browser.readme_screenshot`.)"""
    await write_applied(redis, keys, redis_url, market_events(600, spread_ms=55 * 60_000))
    page = await Dashboard.open(browser, web.url, viewport={"width": 1600, "height": 1000})
    await page.wait_for_row_count(300)
    await page.page.wait_for_selector("#top-short li.rank")
    await page.page.wait_for_function("Number(document.querySelector('#chart').dataset.points) > 0")
    await page.settle()
    path = artifacts / "desktop-realistic.png"
    await page.page.screenshot(path=path)
    assert page.errors == [] and page.dialogs == []
