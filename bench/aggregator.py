"""Aggregator benchmark: stream -> windows throughput, and the cost of reading the summary.

    python bench/aggregator.py [--quick]

1. Throughput: events preloaded in the stream, one `liqmon run aggregator` process folds
   them; its sustained rate (applied events/s between 10 % and 90 % of the backlog) is
   printed beside the raw pipelined XADD rate of the same events on the same Redis in the
   same run (redis-py, 500 per pipeline), three times, with the medians and their ratio.
   Target: ratio >= 1.0 and >= 40,000 events/s for live traffic (event times advancing
   with the stream, up to 1 s out of order, 200 coins with Zipf-like popularity). The
   backfill rate (event times spread over 23 h, so nearly every event opens its own
   bucket) is printed too. So is the CPU the aggregator process spends per event over the
   same stretch, beside this process's CPU per event for the raw XADDs: on a machine
   shared with other work the rates swing with the load, CPU time much less.
2. Reading the full summary (all windows, top 10s, largest, per exchange) with 10k and
   100k (and 1M without --quick) events in the 1d window: p50/p99 of views.read_summary,
   beside a full-scan baseline over the same events (XRANGE + sums in Python, what the
   tool we replace did per request). Target: flat, p99 < 5 ms at 1M.

Uses its own private redis-server (never the machine's).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from liqmon import views
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.event import to_cents
from liqmon.keys import Keys
from liqmon.redis_client import create_redis
from liqmon_aggregator.testing import backlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import SYMBOLS, WEIGHTS, linear_event  # (after the path insert)

PREFIX = "bench"
RETENTION_MS = 48 * 3_600_000


def make_events(n: int, now: int, seed: int, live: bool = False) -> list[dict[str, str]]:
    """Backfill: times spread at random over 23 h. Live: times advance with the stream
    at 15,000 events/s, each up to 1 s late (as a running system sees them)."""
    rng = random.Random(seed)
    out = []
    symbols = rng.choices(SYMBOLS, WEIGHTS, k=n)
    for i in range(n):
        exchange = rng.choice(("binance", "okx", "bybit"))
        event = linear_event(
            exchange,
            id=f"{seed:08x}{i:024x}",
            instrument=f"{symbols[i]}-USDT",
            symbol=symbols[i],
            side=rng.choice(("long", "short")),
            price=Decimal(rng.randrange(1, 10**8)) / 1000,
            qty=Decimal("1.5"),
            usd_cents=rng.randrange(100, 10**8),
            ts=(now - n // 15 + i // 15 - rng.randrange(0, 1000))
            if live
            else now - rng.randrange(0, 23 * 3_600_000),
            recv_ts=now,
            sampled=rng.random() < 0.2,
        )
        out.append(event.to_fields())
    return out


XADD_CPU_US: list[float] = []  # this process's CPU per event of each xadd_all


async def xadd_all(redis, key: str, entries: list[dict[str, str]]) -> float:  # type: ignore[no-untyped-def]
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(entries), 500):
        pipe = redis.pipeline(transaction=False)
        for fields in entries[i : i + 500]:
            pipe.xadd(key, fields)
        await pipe.execute()
    XADD_CPU_US.append((time.process_time() - cpu) / len(entries) * 1e6)
    return len(entries) / (time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


#: The aggregator's CPU per event over the measured stretch of each `fold`.
FOLD_CPU_US: list[float] = []


async def fold(redis, keys: Keys, env: dict[str, str], total: int, log: Path) -> float:  # type: ignore[no-untyped-def]
    """Run one aggregator process until the backlog is empty; returns its sustained rate."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "liqmon", "run", "aggregator"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    samples: list[tuple[float, int, float]] = []
    try:
        start = int(await redis.hget(keys.agg_stats(1), "applied") or 0)
        while True:
            applied = int(await redis.hget(keys.agg_stats(1), "applied") or 0) - start
            samples.append((time.perf_counter(), applied, cpu_seconds(proc.pid)))
            if await backlog(redis, keys) == (0, 0):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"aggregator exited; see {log}")
            await asyncio.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(15)
    lo = next(s for s in samples if s[1] >= 0.1 * total)
    hi = next(s for s in samples if s[1] >= 0.9 * total)
    if hi[1] > lo[1]:
        FOLD_CPU_US.append((hi[2] - lo[2]) / (hi[1] - lo[1]) * 1e6)
    return (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else float("nan")


async def full_scan(redis, keys: Keys, now: int) -> None:  # type: ignore[no-untyped-def]
    """The baseline: read every event and sum every window in Python."""
    sums: Counter[tuple[str, str]] = Counter()
    ranks: Counter[tuple[str, str, str]] = Counter()
    last = "-"
    while True:
        page = await redis.xrange(keys.events, min=last, max="+", count=10_000)
        if not page:
            break
        for _sid, f in page:
            age = now - int(f["ts"])
            cents = to_cents(Decimal(f["usd"]))
            for w in views.WINDOWS:
                if age < views.WINDOW_MS[w]:
                    sums[(w, f["side"])] += cents
                    ranks[(w, f["side"], f["symbol"])] += cents
        last = "(" + page[-1][0]
        if len(page) < 10_000:
            break


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def read_costs(redis, keys: Keys, size: int, rounds: int) -> None:  # type: ignore[no-untyped-def]
    costs = []
    for _ in range(rounds):
        t = time.perf_counter()
        await views.read_summary(redis, keys, top=10)
        costs.append((time.perf_counter() - t) * 1000)
    scans = []
    for _ in range(3 if size <= 100_000 else 1):
        t = time.perf_counter()
        await full_scan(redis, keys, time.time_ns() // 1_000_000)
        scans.append((time.perf_counter() - t) * 1000)
    summary = await views.read_summary(redis, keys)
    in_day = summary["windows"]["1d"]["long_count"] + summary["windows"]["1d"]["short_count"]
    print(
        f"  {size:>9,} events ({in_day:,} in 1d): read_summary p50 {pct(costs, 0.5):6.2f} ms"
        f"  p99 {pct(costs, 0.99):6.2f} ms   | full-scan baseline p50 "
        f"{statistics.median(scans):9.1f} ms  ({statistics.median(scans) / pct(costs, 0.5):,.0f}x)"
    )


async def main(quick: bool, batch: int, live_only: bool) -> None:
    sizes = [10_000, 100_000] if quick else [10_000, 100_000, 1_000_000]
    workdir = Path(tempfile.mkdtemp(prefix="liqmon-bench-"))
    server = EmbeddedRedis(None, persistent=False)
    server.start()
    redis = create_redis(server.url, socket_timeout=60)
    keys = Keys(PREFIX)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
    env.update(REDIS_URL=server.url, LIQMON_KEY_PREFIX=PREFIX)
    if batch:
        env["LIQMON_AGGREGATOR_BATCH"] = str(batch)
    try:
        now = time.time_ns() // 1_000_000
        print(f"aggregator bench ({'quick' if quick else 'full'}); redis {server.url}")
        loaded = 0
        for size in [] if live_only else sizes:  # backfill over 23 h, then reads at this size
            batch = make_events(size - loaded, now, seed=size)
            await xadd_all(redis, keys.events, batch)
            rate = await fold(redis, keys, env, len(batch), workdir / "aggregator.log")
            loaded = size
            print(f"  backfill {len(batch):>9,} events spread over 23 h: {rate:9,.0f} events/s")
            del batch  # a web process does not hold a million dicts: keep the GC out of
            gc.collect()  # the read timings (a full collection would show up as p99)
            await read_costs(redis, keys, size, rounds=200 if quick else 500)
        # live: what a running system sees; three runs, each beside its own baseline
        rates, raws, script_us = [], [], []
        cpus: list[tuple[float, float]] = []
        for run in range(3):
            live = make_events(60_000 if quick else 300_000, now, seed=7 + run, live=True)
            raw_rate = await xadd_all(redis, "bench:raw-xadd", live)
            await redis.delete("bench:raw-xadd")
            await xadd_all(redis, keys.events, live)
            await redis.config_resetstat()
            raw_cpu = XADD_CPU_US[-2]  # the raw-xadd run's, not the preload's
            rate = await fold(redis, keys, env, len(live), workdir / "aggregator.log")
            evalsha = (await redis.info("commandstats")).get("cmdstat_evalsha", {})
            script_us.append(evalsha.get("usec", 0) / len(live))
            rates.append(rate)
            raws.append(raw_rate)
            cpus.append((FOLD_CPU_US[-1], raw_cpu))
            print(
                f"  live run {run + 1}: {len(live):,} events: one aggregator {rate:9,.0f} events/s"
                f"  | raw pipelined XADD {raw_rate:9,.0f} events/s  (ratio {rate / raw_rate:.2f})"
                f"; CPU per event: aggregator {cpus[-1][0]:.1f} us | XADD client {raw_cpu:.1f} us"
            )
            now = time.time_ns() // 1_000_000
        rate, raw_rate = statistics.median(rates), statistics.median(raws)
        ratio = statistics.median(r / b for r, b in zip(rates, raws, strict=True))
        print(
            f"  live, median of 3: one aggregator {rate:9,.0f} events/s | raw pipelined XADD"
            f" {raw_rate:9,.0f} events/s | ratio (median of the runs' own) {ratio:.2f}"
            f"  (targets: ratio >= 1.0, >= 40,000/s)"
        )
        print(
            f"  CPU per event, median of 3: aggregator process"
            f" {statistics.median(c for c, _ in cpus):.1f} us | raw pipelined XADD, client"
            f" {statistics.median(x for _, x in cpus):.1f} us"
        )
        per_event = statistics.median(script_us)
        print(
            f"  (Redis server time in the aggregator's scripts: {per_event:.1f} us/event,"
            f" i.e. a ceiling of {1e6 / max(per_event, 0.001):,.0f} events/s per Redis core)"
        )
    finally:
        await redis.aclose()
        server.stop()
    shutil.rmtree(workdir, ignore_errors=True)  # only on success: its logs explain a failure


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k only (< 60 s)")
    parser.add_argument("--batch", type=int, default=0, help="LIQMON_AGGREGATOR_BATCH")
    parser.add_argument("--live-only", action="store_true", help="skip backfill and reads")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.batch, args.live_only))
