"""Tiny per-coin prices, a rare coin's recent list behind many other prints, overlapping rows.

Coins such as PEPE are priced per single coin (0.0000105019, even 1.2e-9): averages keep
six significant digits instead of rounding to "0", and the tape shows the exchange's digits
unclipped. The coin view finds a rare coin's prints through the server's per-coin index,
however many other prints came after them. A stream entry delivered twice (a REST fill
and a live event overlapping) is one row on the tape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.browser.conftest import WebServer
from tests.browser.events import make_event, write, write_applied
from tests.browser.pages import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(45)]  # Chromium + a web process

PRICE_CASES = """async () => {
    const f = await import('/static/format.js');
    return [97012.3456, 97000.5, 1234567.8, 1.0923, 0.41235, 0.0000105019,
            3.14159265e-7, 1.2e-9, 0, null].map(f.formatPriceNumber);
}"""


async def test_average_prices_keep_significant_digits(web: WebServer, browser: Browser) -> None:
    page = await Dashboard.open(browser, web.url)
    assert await page.page.evaluate(PRICE_CASES) == [
        "97,012.3",
        "97,000.5",
        "1,234,568",
        "1.0923",
        "0.41235",
        "0.0000105019",
        "0.000000314159",
        "0.0000000012",
        "–",
        "–",
    ]


async def test_tiny_prices_in_the_tape_and_the_coin_view(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys, redis_url: str
) -> None:
    events = [
        make_event("PEPE", side="long", usd="5000", price="0.0000105019"),
        make_event("PEPE", side="long", usd="5000", price="0.0000105019"),
        make_event("PEPE", side="short", usd="3000", price="0.0000000012"),
        make_event("SATS", side="short", usd="2000", price="0.00000031415926"),
    ]
    ids = await write_applied(redis, keys, redis_url, events)
    page = await Dashboard.open(browser, web.url)
    await page.wait_for_rows(ids)
    # The exchange's digits, whole: not cut by the price column's width.
    cells = await page.page.eval_on_selector_all(
        "#tape li.row .c-price",
        "cs => cs.map(c => [c.textContent, c.scrollWidth <= c.clientWidth, c.title])",
    )
    assert sorted(cells) == [
        ["0.0000000012", True, "0.0000000012"],
        ["0.00000031415926", True, "0.00000031415926"],
        ["0.0000105019", True, "0.0000105019"],
        ["0.0000105019", True, "0.0000105019"],
    ]

    await page.page.click("#tape button.coin[data-symbol=PEPE] >> nth=0")
    row = "#coin-view tr[data-window='1h']"
    await page.page.wait_for_selector("#coin-view[open] tr[data-window='1h']")
    avg_long = await page.page.inner_text(f"{row} td.avg.long")
    avg_short = await page.page.inner_text(f"{row} td.avg.short")
    assert (avg_long, avg_short) == ("0.0000105019", "0.0000000012")
    assert page.errors == []


@pytest.fixture
async def narrow_web(
    service_env: dict[str, str], tmp_path: Path, redis: object
) -> AsyncIterator[WebServer]:
    """The web service reading only 100 entries per /api/liquidations request."""
    server = WebServer({**service_env, "LIQMON_WEB_MAX_SCAN": "100"}, tmp_path)
    await server.start()
    yield server
    server.stop()


async def test_coin_view_finds_a_rare_coins_prints_behind_many_others(
    narrow_web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    [rare_id] = await write(redis, keys, [make_event("RARECOIN", side="short", usd="777")])
    for _ in range(4):  # 400 newer prints of another coin: 4 bounded scans of the stream
        await write(redis, keys, [make_event("BTC") for _ in range(100)])
    async with httpx.AsyncClient() as client:
        first = (
            await client.get(
                f"{narrow_web.url}/api/liquidations", params={"symbol": "RARECOIN", "limit": 50}
            )
        ).json()
    assert [i["stream_id"] for i in first["items"]] == [rare_id]  # one request: the index
    assert first["next"] is None

    page = await Dashboard.open(browser, narrow_web.url, "?coin=RARECOIN")
    await page.page.wait_for_selector(f'#coin-view .coin-tape li.row[data-id="{rare_id}"]')
    assert await page.tape_ids("#coin-view .coin-tape") == [rare_id]
    assert page.errors == []


OVERLAP_TAPE = """async () => {
    const { Tape } = await import('/static/tape.js');
    const list = document.createElement('ol');
    document.body.append(list);
    const tape = new Tape(list, { maxRows: 10 });
    const ev = (streamId) => ({ stream_id: streamId, id: `e${streamId}`, ts: Date.now(),
        symbol: 'BTC', exchange: 'binance', product: 'binance-usdm', instrument: 'BTCUSDT',
        side: 'long', price: '97000.5', usd: 1000 });
    const rows = () => [...list.querySelectorAll('li.row')].map(r => r.dataset.id);
    const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    // everything queued is on the list (a busy tape's next flush waits BUSY_FLUSH_MS)
    const frame = async () => { do await frames(); while (tape.queue.length || tape.timer); };
    tape.fill([ev('5-0'), ev('4-0'), ev('4-0'), ev('2-0')]);
    const filled = rows();
    tape.push(ev('5-0'));  // live, and already in the fill
    tape.push(ev('7-0'));
    tape.push(ev('7-0'));  // same frame, same entry
    await frame();
    const pushed = rows();
    for (let i = 0; i < 12; i += 1) tape.push(ev(`${10 + i}-0`));
    await frame();
    tape.push(ev('2-0'));  // trimmed off the bottom: it may come back
    await frame();
    const again = rows()[0];
    list.remove();
    return { filled, pushed, again };
}"""


async def test_tape_never_shows_a_stream_entry_twice(web: WebServer, browser: Browser) -> None:
    page = await Dashboard.open(browser, web.url)
    got = await page.page.evaluate(OVERLAP_TAPE)
    assert got == {
        "filled": ["5-0", "4-0", "2-0"],
        "pushed": ["7-0", "5-0", "4-0", "2-0"],
        "again": "2-0",
    }
    assert page.errors == []
