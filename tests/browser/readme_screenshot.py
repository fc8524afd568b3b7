"""Regenerate docs/screenshot.png (the README's picture) from the real demo stack.

    .venv/bin/python -m tests.browser.readme_screenshot [--seconds 60]

Runs `liqmon up --demo` (exchange simulator -> both collectors -> aggregator -> web) on a
private Redis, adds six hours of synthetic history at the simulator's own prices (so the
1h…1d windows and the chart have something to show; the demo itself starts empty), lets
the live feed run, and photographs the dashboard at 1920x1080 in Chromium. Not a test:
it takes a minute and writes into docs/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
from playwright.async_api import async_playwright

from liqmon.collector.streamwrite import StreamAppender
from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon.keys import Keys
from liqmon.redis_client import create_redis
from tests.browser.events import market_events
from tests.browser.pages import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "screenshot.png"


async def wait_healthy(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                health = (await client.get(f"{url}/api/health")).json()
                if health.get("status") == "ok":
                    return
            except (httpx.TransportError, ValueError):
                pass
            await asyncio.sleep(0.5)  # poll interval of a deadline loop
    raise TimeoutError("the demo stack did not become healthy")


async def backfill(url: str, redis_url: str, count: int) -> None:
    """History over the last 6 h, priced like the simulator's live coins."""
    async with httpx.AsyncClient(timeout=5.0) as client:
        page = (await client.get(f"{url}/api/liquidations", params={"limit": 1000})).json()
    live_price = {item["symbol"]: item["price"] for item in page["items"]}
    events = []
    for event in market_events(count, seed=11, spread_ms=6 * 3_600_000):
        price = live_price.get(event.symbol)
        if price:
            events.append(replace(event, price=Decimal(price)))
        else:
            events.append(event)
    redis = create_redis(redis_url)
    # the collectors' own append path: the live demo writes the same stream and indexes
    appender = StreamAppender(redis, Keys("liq"), retention_ms=48 * 3_600_000)
    try:
        for start in range(0, len(events), 500):
            await appender.append(events[start : start + 500])
    finally:
        await redis.aclose()


async def photograph(url: str, seconds: float) -> None:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = await browser.new_page(viewport={"width": 1920, "height": 1080})
        await page.goto(f"{url}/?window=1h&range=4h")
        await page.wait_for_selector("#conn[data-state=live]")
        await asyncio.sleep(seconds)  # let the live tape fill: this is the point of the run
        await page.wait_for_function("document.querySelectorAll('#tape li.row').length >= 100")
        await page.screenshot(path=OUT)
        await browser.close()


async def main(seconds: float, history: int) -> int:
    with tempfile.TemporaryDirectory(prefix="liqmon-shot-") as var:
        redis = EmbeddedRedis(None, persistent=False)
        redis.start()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
        env.update(REDIS_URL=redis.url, LIQMON_WEB_PORT=str(port))
        stack = subprocess.Popen(
            [sys.executable, "-m", "liqmon", "up", "--demo", "--var", var],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            await wait_healthy(url)
            await backfill(url, redis.url, history)
            await photograph(url, seconds)
        finally:
            stack.send_signal(signal.SIGTERM)
            try:
                stack.wait(30)
            except subprocess.TimeoutExpired:
                stack.kill()
            redis.stop()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=45.0, help="live feed before the shot")
    parser.add_argument("--history", type=int, default=3000, help="synthetic past events")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.seconds, args.history)))
