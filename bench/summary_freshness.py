"""Totals freshness: how long after an event its totals show in /api/summary and on the
dashboard's cards, at a steady event rate, beside the old once-a-second summary.

    .venv/bin/python bench/summary_freshness.py [--quick] [--rate EV/S] [--seconds S]

Setup, all real and on loopback: a private redis-server, `liqmon run aggregator` and
`liqmon run web` as child processes, Debian's Chromium (Playwright) on the dashboard, and
this process XADDing `rate` events/s in 10 ms batches (event time = now), after a 2 s
warm-up at the same rate that is not measured.

- event -> summary: a poller GETs /api/summary every 10 ms; an event counts as reflected
  when the 1d window's long + short count first reaches the number of events appended up
  to and including its batch. Latency = that response's arrival - the batch's XADD reply.
- event -> card: the same, read from the 1d card's `.long-count`/`.short-count` in the
  page (a MutationObserver records each render with Date.now()).
- event -> page: when the summary message showing it reaches the page's JavaScript (a
  wrapped EventSource listener), before the card's render: `card-page` is the page's own
  time (parsing, the render, whatever ran before it on the page's one thread).
- browser CPU: the cores every Chromium process used while events were sent (CDP
  `SystemInfo.getProcessInfo`). Playwright keeps CDP's Network domain on, which reports
  every SSE message to it, so after each round the push page also runs once in a plain
  headless Chromium that no client drives (`browser CPU, no DevTools`, read from /proc):
  what the open dashboard costs a user's machine.
- event -> applied: the floor, no web involved: the aggregator's `applied` counter read
  straight from Redis every 5 ms. The web's own share is the difference, batch by batch
  (`summary-applied`, `card-applied`): what the aggregator's own stalls cannot explain.

Both include the aggregator's own delay (stream -> windows), which is the point: it is
what a user waits for. Two web configurations, each run 3 times on fresh processes and a
flushed Redis; the figure printed is the median of the 3 runs' p50/p99:

- push:  the default (a change is pushed within one token poll, pushes >= 20 ms apart);
- tick:  the old behaviour, a summary once a second (LIQMON_WEB_SUMMARY_PUSH_MS=1000, the
  /api/summary cache 1 s), measured the same way in the same run.

Target (issue: crash-day headroom, totals freshness): p99 <= 100 ms at 1,000 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import orjson

from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon.keys import Keys
from liqmon.redis_client import create_redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import add_env_option, env_settings
from bench.web import pct_list, wait_http  # (after the path insert)
from tests.browser.pages import CHROMIUM, CHROMIUM_ARGS
from tests.web.helpers import make_event

MODES = {"push": {}, "tick": {"LIQMON_WEB_SUMMARY_PUSH_MS": "1000"}}
WARMUP_S = 2.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Records (Date.now(), 1d long+short count) at every render of the cards.
OBSERVE_CARDS = """() => {
    window.__seen = [];
    const read = () => {
        const card = document.querySelector('#cards .card[data-window="1d"]');
        if (!card) return;
        const v = (s) => Number(card.querySelector(s)?.dataset.value ?? 0);
        window.__seen.push([Date.now(), v('.long-count') + v('.short-count')]);
    };
    // the cards update in place: text and data-value changes, not new nodes
    new MutationObserver(read).observe(document.querySelector('#cards'), {
        childList: true, subtree: true, characterData: true, attributes: true});
}"""
#: Before the page's scripts: records (Date.now(), 1d long+short count) when a summary
#: message reaches the page's JavaScript, before any listener runs (the card's render
#: comes after it: the difference is the page's own time).
OBSERVE_ARRIVALS = """() => {
    window.__arrived = [];
    const add = EventSource.prototype.addEventListener;
    EventSource.prototype.addEventListener = function (type, listener, options) {
        if (type !== 'summary') return add.call(this, type, listener, options);
        const wrapped = (message) => {
            const w = JSON.parse(message.data).windows['1d'];
            window.__arrived.push([Date.now(), Number(w.long_count) + Number(w.short_count)]);
            return listener(message);
        };
        return add.call(this, type, wrapped, options);
    };
}"""


def now_ms() -> float:
    return time.time() * 1000


def count_1d(summary: dict[str, Any]) -> int:
    w = summary["windows"]["1d"]
    return int(w["long_count"]) + int(w["short_count"])


async def produce(
    redis: Any, keys: Keys, rate: int, seconds: float, already: int = 0
) -> list[tuple[float, int]]:
    """XADD `rate` events/s in 10 ms batches; (wall ms after each batch, total so far,
    counting `already` sent before). The events are built before the clock starts, so
    this process stays responsive."""
    per_tick = max(rate // 100, 1)
    ticks = int(seconds * 100)
    fields = [
        make_event(symbol=("BTC", "ETH", "SOL")[i % 3], salt=already + i).to_fields()
        for i in range(ticks * per_tick)
    ]
    marks: list[tuple[float, int]] = []
    start = time.monotonic()
    sent = 0
    for tick in range(ticks):
        pipe = redis.pipeline(transaction=False)
        for i in range(per_tick):
            pipe.xadd(keys.events, fields[sent + i])
        await pipe.execute()
        sent += per_tick
        marks.append((now_ms(), already + sent))
        delay = start + (tick + 1) / 100 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    return marks


async def poll_applied(redis: Any, keys: Keys, stop: asyncio.Event) -> list[tuple[float, int]]:
    """The floor: when the aggregator's own counter shows the events (no web involved)."""
    seen: list[tuple[float, int]] = []
    while not stop.is_set():
        applied = await redis.hget(keys.agg_stats(1), "applied")
        seen.append((now_ms(), int(applied or 0)))
        await asyncio.sleep(0.005)
    return seen


async def poll_summary(base: str, stop: asyncio.Event) -> list[tuple[float, int]]:
    seen: list[tuple[float, int]] = []
    async with httpx.AsyncClient(base_url=base) as client:
        while not stop.is_set():
            response = await client.get("/api/summary")
            at = now_ms()
            seen.append((at, count_1d(orjson.loads(response.content))))
            await asyncio.sleep(0.01)
    return seen


def latencies(marks: list[tuple[float, int]], seen: list[tuple[float, int]]) -> list[float]:
    """For each batch, the first observation showing it, minus the batch's time."""
    out: list[float] = []
    j = 0
    for at, total in marks:
        while j < len(seen) and (seen[j][1] < total or seen[j][0] < at):
            j += 1
        if j == len(seen):
            break
        out.append(seen[j][0] - at)
    return out


def spawn(service: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "liqmon", "run", service],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


class Run(NamedTuple):
    """One run's latencies (ms, one per batch) and the page's main-thread load."""

    applied: list[float]
    summary: list[float]
    page: list[float]
    card: list[float]
    #: the browser's CPU (every Chromium process) per second measured, in cores: what
    #: the dashboard costs the machine it is open on
    browser_cores: float


async def browser_cpu_seconds(session: Any) -> dict[int, float]:
    """CPU seconds of each Chromium process so far, by pid (CDP SystemInfo)."""
    info = await session.send("SystemInfo.getProcessInfo")
    return {int(p["id"]): float(p["cpuTime"]) for p in info["processInfo"]}


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two samples, over the processes in both (the renderer of the
    previous run's page may still be exiting at the first)."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


@contextlib.asynccontextmanager
async def services(
    redis_url: str, mode: str, args: argparse.Namespace, tmp: Path
) -> AsyncIterator[tuple[Any, str]]:
    """A flushed Redis, fresh `aggregator` and `web` processes in `mode`: (redis, web url)."""
    redis = create_redis(redis_url)
    await redis.flushall()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
    env.update(REDIS_URL=redis_url, LIQMON_WEB_PORT=str(port), LIQMON_LOG_LEVEL="WARNING")
    env.update(env_settings(args))  # an A/B of settings
    env.update(MODES[mode])
    procs = [spawn("aggregator", env, tmp / "aggregator.log"), spawn("web", env, tmp / "web.log")]
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_http(f"{base}/api/health")
        yield redis, base
    except BaseException:
        for name in ("aggregator", "web"):
            sys.stdout.write(f"--- {name}.log\n" + (tmp / f"{name}.log").read_text()[-2000:])
        raise
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(10)
        await redis.aclose()


async def one_run(
    browser: Any, redis_url: str, mode: str, args: argparse.Namespace, tmp: Path
) -> Run:
    keys = Keys("liq")
    async with services(redis_url, mode, args, tmp) as (redis, base):
        page = await browser.new_page()
        await page.add_init_script(f"({OBSERVE_ARRIVALS})()")
        await page.goto(base)
        await page.wait_for_selector('#cards .card[data-window="1d"]')
        await page.wait_for_selector("#conn[data-state=live]")
        # Warm-up, not measured: the aggregator's first batches, connections, JIT-less caches.
        warm = await produce(redis, keys, args.rate, WARMUP_S)
        await page.evaluate(OBSERVE_CARDS)
        cdp = await browser.new_browser_cdp_session()
        cpu_before, began = await browser_cpu_seconds(cdp), time.monotonic()
        stop = asyncio.Event()
        poller = asyncio.create_task(poll_summary(base, stop))
        floor = asyncio.create_task(poll_applied(redis, keys, stop))
        marks = await produce(redis, keys, args.rate, args.seconds, warm[-1][1])
        cpu = cpu_between(cpu_before, await browser_cpu_seconds(cdp))
        cores = cpu / (time.monotonic() - began)
        await cdp.detach()
        await asyncio.sleep(2.5)  # the last batches reach both (the tick is 1 s)
        stop.set()
        rest, applied = await poller, await floor
        cards = [(float(t), int(n)) for t, n in await page.evaluate("window.__seen")]
        arrived = [(float(t), int(n)) for t, n in await page.evaluate("window.__arrived")]
        await page.close()
        return Run(
            latencies(marks, applied), latencies(marks, rest),
            latencies(marks, arrived), latencies(marks, cards), cores,
        )  # fmt: skip


def process_tree(root: int) -> list[int]:
    """`root` and every process below it (Chromium's zygotes, renderers, GPU, utilities)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:  # exited meanwhile
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds so far of each process still there (/proc/<pid>/stat)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


async def sse_clients(base: str) -> int:
    async with httpx.AsyncClient(base_url=base) as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("liqmon_web_sse_clients "):
            return int(float(line.split()[1]))
    return 0


async def plain_browser_cores(redis_url: str, args: argparse.Namespace, tmp: Path) -> float:
    """The open dashboard's CPU in cores, in a Chromium with no DevTools client: what a
    user's browser spends. (A Playwright page has CDP's Network domain on, which reports
    every SSE message to the client: about a quarter of a core more at 1,000 events/s.)
    Read from /proc over the browser's process tree; the page is live once the web counts
    its stream client."""
    keys = Keys("liq")
    async with services(redis_url, "push", args, tmp) as (redis, base):
        profile = tempfile.mkdtemp(dir=tmp)  # a fresh profile: no lock left by the last
        browser = subprocess.Popen(
            [CHROMIUM, "--headless", *CHROMIUM_ARGS, f"--user-data-dir={profile}", base],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while await sse_clients(base) < 1:
                if time.monotonic() > deadline:
                    raise RuntimeError("the dashboard did not open its stream")
                await asyncio.sleep(0.1)
            warm = await produce(redis, keys, args.rate, WARMUP_S)
            pids = process_tree(browser.pid)
            before, began = cpu_seconds(pids), time.monotonic()
            await produce(redis, keys, args.rate, args.seconds, warm[-1][1])
            after = cpu_seconds(pids)
            return cpu_between(before, after) / (time.monotonic() - began)
        finally:
            browser.terminate()
            try:
                browser.wait(10)
            except subprocess.TimeoutExpired:
                browser.kill()
                browser.wait()


async def run(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
        return
    server = EmbeddedRedis(None, persistent=False)
    server.start()
    results: dict[str, dict[str, list[float]]] = {}
    plain: list[float] = []  # the push mode's page in a Chromium with no DevTools client
    try:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            with tempfile.TemporaryDirectory() as tmp:
                for _ in range(args.runs):
                    for mode in MODES:  # interleaved: both see the same machine load
                        applied, rest, page, card, cores = await one_run(
                            browser, server.url, mode, args, Path(tmp)
                        )
                        row = results.setdefault(mode, {})
                        row.setdefault("browser", []).append(cores)
                        # the web's own share, batch by batch: shown minus applied
                        web = [r - a for r, a in zip(rest, applied, strict=False)]
                        web_card = [c - a for c, a in zip(card, applied, strict=False)]
                        in_page = [c - p for c, p in zip(card, page, strict=False)]
                        named = (
                            ("applied", applied), ("summary", rest), ("page", page),
                            ("card", card), ("summary-applied", web),
                            ("card-applied", web_card), ("card-page", in_page),
                        )  # fmt: skip
                        for name, values in named:
                            row.setdefault(f"{name} p50", []).append(pct_list(values, 0.5))
                            row.setdefault(f"{name} p99", []).append(pct_list(values, 0.99))
                    plain.append(await plain_browser_cores(server.url, args, Path(tmp)))
            await browser.close()
    finally:
        server.stop()
    print(
        f"Totals freshness at {args.rate} events/s, {args.seconds:.0f} s per run, "
        f"median of {args.runs} runs (each run's p50 / p99 in brackets):"
    )
    for name in (
        "applied p50", "applied p99", "summary p50", "summary p99", "page p50", "page p99",
        "card p50", "card p99", "summary-applied p50", "summary-applied p99",
        "card-applied p50", "card-applied p99", "card-page p50", "card-page p99",
    ):  # fmt: skip
        cells = []
        for mode in MODES:
            values = results[mode][name]
            runs = " / ".join(f"{v:.0f}" for v in values)
            cells.append(f"{mode} {statistics.median(values):6.0f} ms [{runs}]")
        print(f"  event -> {name:20s} " + "   ".join(cells))
    cells = []
    for mode in MODES:
        values = results[mode]["browser"]
        runs = " / ".join(f"{v:.2f}" for v in values)
        cells.append(f"{mode} {statistics.median(values):6.2f}    [{runs}]")
    print("  browser CPU, cores         " + "   ".join(cells))
    runs = " / ".join(f"{v:.2f}" for v in plain)
    print(
        f"  browser CPU, no DevTools   push {statistics.median(plain):6.2f}    [{runs}]"
        "   (the push page in a Chromium no client drives: what a user's browser spends)"
    )
    print("  (target: event -> summary and -> card p99 <= 100 ms at 1,000 events/s; "
          "tick = the old 1 Hz summary, same run)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (< 2 minutes)")
    parser.add_argument("--rate", type=int, default=1000, help="events/s")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--runs", type=int, default=3)
    add_env_option(parser, "the aggregator and the web (the tick mode keeps its own)")
    args = parser.parse_args()
    args.seconds = args.seconds or (6.0 if args.quick else 20.0)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
