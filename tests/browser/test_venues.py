"""The dashboard's Venues view in a real Chromium against the real web service and Redis.

Every venue of the registry is listed, with its feed badge, its share of the selected
window's USD and count (recounted here from /api/summary in whole cents), and its
collector's state from /api/health; it follows the live summaries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Route
from redis.asyncio import Redis

from liqmon.collector.status import CollectorStatus
from liqmon.keys import Keys
from liqmon.venues import VENUES
from tests.browser.conftest import WebServer
from tests.browser.events import RETENTION_MS, make_event, write_applied
from tests.browser.pages import PHONE, Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]  # Chromium + a web process

HOSTILE = '<img src=x onerror="alert(1)">'
ROWS = """() => [...document.querySelectorAll('#venues li.vn-row')].map(r => ({
    exchange: r.dataset.exchange,
    name: r.querySelector('.vn-name').textContent,
    usd: Number(r.querySelector('.vn-usd').dataset.value),
    usd_text: r.querySelector('.vn-usd').firstChild.textContent,
    count: Number(r.querySelector('.vn-count').dataset.value),
    count_text: r.querySelector('.vn-count').firstChild.textContent,
    feed: r.querySelector('.vn-feed').textContent,
    feed_title: r.querySelector('.vn-feed').title,
    state: r.querySelector('.vn-state').dataset.state,
    state_text: r.querySelector('.vn-state').textContent,
    state_title: r.querySelector('.vn-state').title,
    notes_text: r.querySelector('.vn-notes-text')?.textContent ?? null,
    notes_markup: r.querySelector('.vn-notes-text')?.children.length ?? null,
}))"""


def cents(usd: float) -> int:
    return round(usd * 100)


def tenths(part: int, total: int) -> int:
    """part / total in tenths of a percent, half up: the page's rule, in integers."""
    return (2000 * part + total) // (2 * total) if total > 0 and part > 0 else 0


def recount(window: dict[str, Any], exchange: str) -> tuple[int, int]:
    x = window["by_exchange"].get(exchange, {})
    usd = cents(x.get("long_usd", 0)) + cents(x.get("short_usd", 0))
    count = x.get("long_count", 0) + x.get("short_count", 0)
    total_usd = cents(window["long_usd"]) + cents(window["short_usd"])
    total_count = window["long_count"] + window["short_count"]
    return tenths(usd, total_usd), tenths(count, total_count)


async def rows(page: Dashboard) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = await page.page.evaluate(ROWS)
    return got


SHARE_CASES = """async () => {
    const v = await import('/static/venues.js');
    return {
        tenths: [[1, 3], [2, 3], [1, 8], [1, 16], [0, 0], [5, 0], [0, 7], [7, 7]]
            .map(([p, q]) => v.shareTenths(BigInt(p), BigInt(q))),
        text: [0, 5, 123, 1000].map(v.formatShare),
        cents: ['0.29', 1234567.89, 0.01, null, 'x', -5].map(c => String(v.toCents(c))),
    };
}"""


async def test_share_arithmetic(web: WebServer, browser: Browser) -> None:
    """Whole cents, half up to a tenth of a percent; nothing is NaN."""
    page = await Dashboard.open(browser, web.url)
    assert await page.page.evaluate(SHARE_CASES) == {
        "tenths": [333, 667, 125, 63, 0, 0, 0, 1000],
        "text": ["0.0%", "0.5%", "12.3%", "100.0%"],
        "cents": ["29", "123456789", "1", "0", "0", "0"],
    }
    assert [tenths(p, q) for p, q in [(1, 3), (2, 3), (1, 8), (1, 16), (0, 0)]] == [
        333,
        667,
        125,
        63,
        0,
    ]


async def publish_status(
    redis: Redis, keys: Keys, exchange: str, *, up: bool, notes: dict[str, str] | None = None
) -> None:
    """A collector's status hash: connected (`up`) or with its one connection down, and
    `notes` as a venue's `notes()` gives them (the collector service's way)."""
    venue = next(v for v in VENUES if v.exchange == exchange)
    status = CollectorStatus(exchange, keys, retention_ms=RETENTION_MS)
    product = venue.products[0]
    status.add_feed(product, "wss://example.invalid/ws")
    status.connected(product)
    if not up:
        status.disconnected(product, "closed by the test")
    if notes is not None:
        status.gauges.extra["notes"] = json.dumps(notes)
    await status.publish(redis)


async def test_venues_view_lists_shares_badges_states_and_follows_the_stream(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, redis_url: str, artifacts: Path
) -> None:
    # what a venue's numbers rest on, with markup a page must not parse
    notes = {"inverse_v_unit": "usd", "inverse_v_basis": "10 of 10 agree <b>bold</b>"}
    await publish_status(redis, keys, "bybit", up=True, notes=notes)
    await publish_status(redis, keys, "okx", up=False)
    # bybit 6,666.67 in 2 liquidations, binance 3,333.33 in 1: 66.7 % / 33.3 % of both
    await write_applied(
        redis,
        keys,
        redis_url,
        [
            make_event("BTC", "bybit", "short", "6000.00"),
            make_event("ETH", "bybit", "long", "666.67"),
            make_event("SOL", "binance", "long", "3333.33"),
        ],
    )
    page = await Dashboard.open(browser, web.url)
    await page.page.wait_for_function(
        "n => document.querySelectorAll('#venues li.vn-row').length === n"
        " && document.querySelector('#venues .vn-state[data-state=connected]')"
        " && document.querySelector('#venues li.vn-row:first-child[data-exchange=bybit]')",
        arg=len(VENUES),
    )
    shown = await rows(page)
    assert sorted(r["exchange"] for r in shown) == sorted(v.exchange for v in VENUES)
    assert {r["exchange"]: r["name"] for r in shown} == {v.exchange: v.name for v in VENUES}
    # sorted by USD share; the venues with nothing keep registry order, at 0.0%
    order = [v.exchange for v in VENUES if v.exchange not in ("bybit", "binance")]
    assert [r["exchange"] for r in shown] == ["bybit", "binance", *order]
    by = {r["exchange"]: r for r in shown}
    assert (by["bybit"]["usd_text"], by["bybit"]["count_text"]) == ("66.7%", "66.7%")
    assert (by["binance"]["usd_text"], by["binance"]["count_text"]) == ("33.3%", "33.3%")
    for name in order:
        assert (by[name]["usd_text"], by[name]["count_text"]) == ("0.0%", "0.0%")

    async with httpx.AsyncClient() as client:
        summary = (await client.get(f"{web.url}/api/summary")).json()
    window = summary["windows"]["1h"]
    for r in shown:
        assert (r["usd"], r["count"]) == recount(window, r["exchange"]), r["exchange"]

    # badges from the registry's sampled flag, with the titles that explain them
    assert by["binance"]["feed"] == "sampled" and "lower bounds" in by["binance"]["feed_title"]
    assert by["bybit"]["feed"] == "complete" and "every" in by["bybit"]["feed_title"]
    assert {r["exchange"] for r in shown if r["feed"] == "sampled"} == {
        v.exchange for v in VENUES if v.sampled
    }
    # collector state from health: running and connected, running with its feed down, absent
    assert (by["bybit"]["state"], by["bybit"]["state_text"]) == ("connected", "connected")
    assert (by["okx"]["state"], by["okx"]["state_text"]) == ("disconnected", "disconnected")
    assert (by["gate"]["state"], by["gate"]["state_text"]) == ("stopped", "not running")
    # the health notes: the state's tooltip, and unfolded under the row on a click, as text
    # (not parsed), unfolded still after the rows are rebuilt by the next summary
    rests_on = (
        "What this venue's numbers rest on:\n"
        "inverse_v_unit: usd\ninverse_v_basis: 10 of 10 agree <b>bold</b>"
    )
    assert by["bybit"]["state_title"] == rests_on and by["okx"]["state_title"] == ""
    assert by["bybit"]["notes_text"] is None  # folded until asked for
    await page.page.click("#venues li.vn-row[data-exchange=bybit] .vn-state")
    await page.page.wait_for_selector("#venues li.vn-row[data-exchange=bybit] .vn-notes-text")
    by = {r["exchange"]: r for r in await rows(page)}
    assert (by["bybit"]["notes_text"], by["bybit"]["notes_markup"]) == (rests_on, 0)
    assert by["okx"]["notes_text"] is None

    # live: new events reach the view through the summary the stream pushes
    await write_applied(
        redis,
        keys,
        redis_url,
        [make_event("BTC", "okx", "long", "10000.00"), make_event("BTC", "okx", "short", "0.01")],
    )
    await page.page.wait_for_selector(
        "#venues li.vn-row[data-exchange=okx]:first-child .vn-count[data-count='2']"
    )
    unfolded = "#venues li.vn-row[data-exchange=bybit] .vn-notes-text"
    assert await page.page.locator(unfolded).count() == 1  # the rebuilt rows kept it open
    await page.page.focus("#venues li.vn-row[data-exchange=bybit] .vn-state")  # keyboard
    await page.page.keyboard.press("Enter")
    await page.page.wait_for_selector(unfolded, state="detached")
    focused = "document.activeElement.closest('li.vn-row')?.dataset.exchange"
    assert await page.page.evaluate(focused) == "bybit"  # the rebuilt row kept the focus
    async with httpx.AsyncClient() as client:
        window = (await client.get(f"{web.url}/api/summary")).json()["windows"]["1h"]
    shown = await rows(page)
    by = {r["exchange"]: r for r in shown}
    assert [r["exchange"] for r in shown][:3] == ["okx", "bybit", "binance"]
    assert by["okx"]["usd_text"] == "50.0%" and by["okx"]["count_text"] == "40.0%"
    assert by["bybit"]["usd_text"] == "33.3%" and by["binance"]["usd_text"] == "16.7%"
    for r in shown:
        assert (r["usd"], r["count"]) == recount(window, r["exchange"]), r["exchange"]
    await page.page.locator(".venues-panel").screenshot(path=artifacts / "venues.png")

    # another window is selected: the view follows it (3m holds the same events)
    await page.page.click("#cards .card[data-window='3m']")
    await page.page.wait_for_selector("#venues[data-window='3m']")
    assert "3m" in (await page.page.text_content("#venues-title") or "")

    # 中文: the badges and states are translated
    await page.page.click("#lang-toggle")
    await page.page.wait_for_function(
        "document.querySelector('#venues li[data-exchange=binance] .vn-feed').textContent"
        " === '抽样'"
    )
    assert await page.page.inner_text("#venues li[data-exchange=gate] .vn-state") == "未运行"
    assert page.errors == [] and page.dialogs == []


async def test_venue_names_are_text_and_phone_has_no_horizontal_scroll(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, redis_url: str, artifacts: Path
) -> None:
    """The names come from the registry, but are still rendered as text: a registry row
    with markup in its name shows the markup, and nothing is parsed. At 375 px the view
    wraps its rows instead of scrolling sideways."""
    await write_applied(redis, keys, redis_url, [make_event("BTC", "binance", "long", "123456.78")])
    page = await Dashboard.open(browser, web.url, viewport=PHONE)
    await page.page.wait_for_selector("#venues li.vn-row[data-exchange=binance]")

    async def hostile_registry(route: Route) -> None:
        response = await route.fetch()
        venues = await response.json()
        venues.append(
            {"exchange": HOSTILE, "name": HOSTILE * 3, "products": [HOSTILE], "sampled": False}
        )
        await route.fulfill(response=response, body=json.dumps(venues))

    await page.page.route("**/api/venues", hostile_registry)
    await page.reload()
    hostile_row = page.page.locator("#venues li.vn-row").filter(has_text=HOSTILE)
    await hostile_row.wait_for()
    await page.page.wait_for_selector("#venues li.vn-row:first-child[data-exchange=binance]")
    assert await hostile_row.locator(".vn-name").text_content() == HOSTILE * 3
    assert await hostile_row.locator(".vn-usd").get_attribute("data-value") == "0"
    assert await page.page.evaluate("document.querySelectorAll('img').length") == 0
    top = await rows(page)
    assert top[0]["exchange"] == "binance" and top[0]["usd_text"] == "100.0%"

    await page.settle()
    width, client = await page.no_horizontal_scroll()
    assert width <= client, f"horizontal scroll {width} > {client}"
    # read in one step: the view rebuilds its rows on every summary, so a located row can
    # be detached before its box is read (Playwright then returns no box)
    row_box = await page.page.evaluate(
        "(() => { const r = document.querySelector('#venues li.vn-row')?.getBoundingClientRect();"
        " return r ? {x: r.x, width: r.width} : null; })()"
    )
    assert row_box is not None and row_box["x"] + row_box["width"] <= PHONE["width"]
    await page.page.locator(".venues-panel").screenshot(path=artifacts / "venues-phone.png")
    assert page.dialogs == [] and page.errors == []
