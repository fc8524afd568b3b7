"""The tape under a 200 events/s burst: bounded, ordered, no duplicates, still painting."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from playwright.async_api import Browser
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.browser.conftest import WebServer
from tests.browser.events import make_event, write
from tests.browser.pages import Dashboard

pytestmark = [pytest.mark.browser, pytest.mark.timeout(45)]  # Chromium + a web process

RATE = 200  # events per second
SECONDS = 3
BATCH = 10

FRAME_PROBE = """() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (now) => { window.__frames.push(now - last); last = now;
                            if (!window.__stopFrames) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
}"""


async def test_tape_stays_bounded_ordered_and_smooth_at_200_events_per_second(
    web: WebServer, browser: Browser, redis: Redis, keys: Keys
) -> None:
    page = await Dashboard.open(browser, web.url)
    await page.page.evaluate(FRAME_PROBE)
    written: list[str] = []
    start = time.monotonic()
    for i in range(RATE * SECONDS // BATCH):
        batch = [make_event(f"C{(i * BATCH + j) % 40}", usd=str(100 + j)) for j in range(BATCH)]
        written += await write(redis, keys, batch)
        # pace the writer (a deadline schedule, not synchronisation)
        await asyncio.sleep(max(0.0, start + (i + 1) * BATCH / RATE - time.monotonic()))
    await page.wait_for_rows([written[-1]], timeout=5000)
    await page.settle()
    frames = await page.page.evaluate("window.__stopFrames = true, window.__frames")

    ids = await page.tape_ids()
    assert len(ids) == 300  # bounded
    assert len(set(ids)) == len(ids)  # never a duplicate row
    assert ids == list(reversed(written))[:300]  # newest first, nothing skipped
    busy = sorted(frames)
    median = statistics.median(busy)
    p95 = busy[int(len(busy) * 0.95)]
    print(f"\nframes {len(busy)}: median {median:.1f} ms, p95 {p95:.1f} ms, max {busy[-1]:.1f} ms")
    # the page kept painting while the burst landed (a page frozen by the burst paints no
    # frame at all); how smoothly is a figure for a benchmark, not an assertion here
    assert len(busy) >= 10
    assert page.errors == []
