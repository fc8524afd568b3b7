"""Alerter benchmark: how many events per second the judge (ingest.lua) takes.

    python bench/alerter.py [--quick]

N fresh events (200 coins, Zipf-like, event times within the last minute) are read
through the `alerter` group in batches of 500 and judged against two rules that match
every event: a whale rule (`large`, $1M: a few fire) and a per-coin cascade (`60s`
window, so every event updates a window hash). Printed beside the baseline of the same
read + a plain pipelined XACK per batch (what a consumer that judges nothing costs), as
medians of 3 runs. Nothing is delivered (no channel workers run): this is the judge alone.

Uses its own private redis-server (never the machine's).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

from liqmon.bus import append_events
from liqmon.consumer_group import ensure_group
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.event import LiquidationEvent
from liqmon.keys import ALERTER_GROUP, Keys
from liqmon.redis_client import create_redis
from liqmon_alerter.ingest import Judge
from liqmon_alerter.rules import parse_rules

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import SYMBOLS, WEIGHTS, linear_event  # (after the path insert)

KEYS = Keys("bench")
RULES = """
[[channel]]
name = "bot"
type = "webhook"
url = "http://127.0.0.1:9/"
secret = "bench-secret"

[[rule]]
name = "whale"
kind = "large"
min_usd = 1_000_000
channels = ["bot"]

[[rule]]
name = "coin-cascade"
kind = "cascade"
window = "60s"
min_usd = 50_000_000
per = "symbol"
channels = ["bot"]
"""


def make_events(n: int, seed: int) -> list[LiquidationEvent]:
    rng = random.Random(seed)
    now = time.time_ns() // 1_000_000
    out = []
    for i in range(n):
        exchange = rng.choice(("binance", "okx", "bybit"))
        out.append(
            linear_event(
                exchange, id=f"{seed:08x}{i:024x}",
                instrument="X-USDT", symbol=rng.choices(SYMBOLS, WEIGHTS)[0],
                side=rng.choice(("long", "short")), price=Decimal("100.5"), qty=Decimal("1"),
                usd_cents=int(rng.paretovariate(1.2) * 500_000), ts=now - rng.randrange(60_000),
                recv_ts=now, sampled=False,
            )
        )  # fmt: skip
    return out


async def one_run(url: str, n: int, seed: int, judge_events: bool) -> float:
    redis = create_redis(url)
    await redis.flushdb()
    events = make_events(n, seed)
    for i in range(0, n, 5000):
        await append_events(redis, KEYS, events[i : i + 5000], retention_ms=48 * 3_600_000)
    await ensure_group(redis, KEYS.events, ALERTER_GROUP, "0")
    judge = Judge(
        redis, KEYS, parse_rules(RULES, "bench", {}), max_age_ms=300_000, max_future_ms=60_000
    )
    began = time.perf_counter()
    while reply := await redis.xreadgroup(ALERTER_GROUP, "b", {KEYS.events: ">"}, count=500):
        entries = [(str(sid), LiquidationEvent.from_fields(f)) for sid, f in reply[0][1]]
        if judge_events:
            await judge.judge(entries)
        else:
            await redis.xack(KEYS.events, ALERTER_GROUP, *(sid for sid, _ in entries))
    elapsed = time.perf_counter() - began
    await redis.aclose()
    return n / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 5_000 if parser.parse_args().quick else 30_000
    server = EmbeddedRedis(None, persistent=False)
    server.start()
    try:
        rates: dict[str, list[float]] = {"judge": [], "baseline": []}
        for run in range(3):
            rates["baseline"].append(await one_run(server.url, n, run, judge_events=False))
            rates["judge"].append(await one_run(server.url, n, run, judge_events=True))
        base, judged = (statistics.median(rates[k]) for k in ("baseline", "judge"))
        print(f"events judged: {n:,} per run, medians of 3")
        print(f"  baseline (read + XACK only):        {base:>10,.0f} events/s")
        print(f"  judge (ingest.lua, large + cascade): {judged:>10,.0f} events/s"
              f"  ({judged / base:.0%} of baseline)")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
