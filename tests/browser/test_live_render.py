"""What the dashboard redraws while events flow: the cards in place, the tape in bounded
flushes spaced out while busy, the flash only on a calm tape (static/cards.js,
static/app.js, static/tape.js).
"""

from __future__ import annotations

import itertools

import httpx
import pytest
from playwright.async_api import Browser
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.browser.conftest import WebServer
from tests.browser.events import make_event, market_events, write, write_applied
from tests.browser.pages import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(45)]  # Chromium + a web process

#: tape.js's own limits, read from the module the page runs
TAPE_LIMITS = (
    "import('/static/tape.js').then(m => [m.ROWS_PER_FLUSH, m.FLASH_ROWS, m.BUSY_FLUSH_MS])"
)
#: Records [rows added, performance.now()] for each tape flush (one prepend of a fragment).
COUNT_ADDED = """() => {
    window.__added = [];
    new MutationObserver((records) => {
        let n = 0;
        for (const r of records)
            for (const node of r.addedNodes) if (node.classList?.contains('row')) n += 1;
        if (n) window.__added.push([n, performance.now()]);
    }).observe(document.querySelector('#tape'), {childList: true});
}"""


async def test_cards_follow_a_push_in_place_and_the_panels_follow(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, redis_url: str
) -> None:
    await write_applied(redis, keys, redis_url, market_events(40, spread_ms=2 * 60_000))
    page = await Dashboard.open(browser, web.url)
    await page.page.wait_for_function(
        "() => Number(document.querySelector(\"#cards .card[data-window='1d'] .long-count\")"
        "?.dataset.value) > 0"
    )
    await page.page.evaluate("window.__cards = [...document.querySelectorAll('#cards .card')]")

    # a new largest liquidation, on a third exchange: every part of a card moves
    whale = make_event("WHALEX", "bybit", "short", "9876543.21", "1.5")
    await write_applied(
        redis, keys, redis_url, [*market_events(30, seed=8, spread_ms=60_000), whale]
    )
    await page.page.wait_for_function(
        """() => { const c = document.querySelector("#cards .card[data-window='1d']");
                   return Number(c.querySelector('.long-count').dataset.value)
                        + Number(c.querySelector('.short-count').dataset.value) === 71; }"""
    )
    async with httpx.AsyncClient() as client:
        summary = (await client.get(f"{web.url}/api/summary")).json()
    cards = await page.cards()
    for name, w in summary["windows"].items():
        assert cards[name]["long_usd"] == w["long_usd"]
        assert cards[name]["short_usd"] == w["short_usd"]
        assert cards[name]["long_count"] == w["long_count"]
        assert cards[name]["short_count"] == w["short_count"]
        assert cards[name]["largest_usd"] == w["largest"]["usd"] == 9876543.21
    largest = await page.page.text_content("#cards .card[data-window='1d'] .largest .coin")
    assert largest == "WHALEX"
    # the same card elements, updated: not rebuilt
    assert await page.page.evaluate(
        "window.__cards.every((c, i) => c === document.querySelectorAll('#cards .card')[i])"
    )
    # the split and the rankings follow within their spacing (250 ms)
    w = summary["windows"]["1h"]
    await page.page.wait_for_function(
        """short => Number(document.querySelector(
               "#window-detail tr[data-exchange='total'] td.short").dataset.value) === short""",
        arg=w["short_usd"],
        timeout=2_000,
    )
    await page.page.wait_for_selector("#window-detail tr[data-exchange='bybit']", timeout=2_000)
    await page.page.wait_for_selector("#top-short li.rank[data-symbol='WHALEX']", timeout=2_000)
    assert page.errors == []


async def test_a_burst_lands_in_bounded_spaced_flushes_complete_and_without_flashing(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    page = await Dashboard.open(browser, web.url)
    rows_per_flush, flash_rows, busy_ms = await page.page.evaluate(TAPE_LIMITS)
    assert 0 < flash_rows < 180 - rows_per_flush < rows_per_flush < 180  # what this burst shows
    await page.page.evaluate(COUNT_ADDED)
    burst = [make_event(f"B{i % 30}", usd=str(100 + i)) for i in range(180)]
    written = await write(redis, keys, burst)  # one append: one SSE write, one queue
    await page.wait_for_rows([written[-1]], timeout=5_000)
    await page.wait_for_row_count(180)
    flushes = await page.page.evaluate("window.__added")
    added = [n for n, _ in flushes]
    assert sum(added) == 180 and max(added) <= rows_per_flush, flushes
    # after a busy flush the next is spaced out (a flush per frame is ~16 ms apart); the
    # observer sees each flush at its end, so a gap may look shorter by a flush's own time
    gaps = [b - a for (n, a), (_, b) in itertools.pairwise(flushes) if n > flash_rows]
    assert len(gaps) >= 1 and min(gaps) >= busy_ms / 2, flushes
    assert await page.tape_ids() == list(reversed(written))  # newest first, none skipped
    flashed = await page.page.eval_on_selector_all("#tape li.row.fresh", "rows => rows.length")
    assert flashed <= flash_rows * len(added)  # only a calm frame's rows flash, if any

    # a calm tape again: a single new row flashes
    (one,) = await write(redis, keys, [make_event("CALM", usd="150")])
    await page.wait_for_rows([one])
    classes = await page.page.get_attribute(f"#tape li.row[data-id='{one}']", "class")
    assert "fresh" in (classes or "").split()
    assert page.errors == []
