"""Memory benchmark: Redis bytes per retained event, and whose bytes they are.

    python bench/memory.py [--quick] [--events N]

N events (1,000,000; --quick: 100,000) with event times spread evenly over the last 48 h
(the default retention), 200 coins with Zipf-like popularity, three exchanges, 20 %
sampled, are appended in time order through the collectors' append script (so the
per-symbol index and the append-time dedup ids are written as in production), then folded
by the aggregator's real code (the consumer group, the same scripts). Then every key's
`MEMORY USAGE` is summed by what it holds and printed per retained event, beside the
baseline of the same run: the bytes of the entries' field values themselves (what any
store of these events must hold) and Redis's `used_memory` growth.

Target: <= 300 bytes per retained event at 1M events with 48 h retention. `--quick`
(100,000 events) is a smoke run: with ~3 events per 5 s bucket the fixed cost of each
bucket and window key dominates (~590 B/event); the figure to read is the full run's.
Uses its own private redis-server (never the machine's).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

from liqmon.collector.streamwrite import StreamAppender
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon.redis_client import create_redis
from liqmon_aggregator.testing import drain

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import SYMBOLS, WEIGHTS, linear_event  # (after the path insert)

PREFIX = "bench"
RETENTION_MS = 48 * 3_600_000


def make_events(n: int, now: int, seed: int = 11) -> list[LiquidationEvent]:
    rng = random.Random(seed)
    symbols = rng.choices(SYMBOLS, WEIGHTS, k=n)
    step = (RETENTION_MS - 3_600_000) / n  # the oldest an hour inside the retention
    out = []
    for i in range(n):
        exchange = rng.choice(("binance", "okx", "bybit"))
        ts = now - RETENTION_MS + 3_600_000 + int(i * step) - rng.randrange(0, 1000)
        out.append(
            linear_event(
                exchange,
                id=f"{rng.getrandbits(128):032x}",
                instrument=f"{symbols[i]}USDT",
                symbol=symbols[i],
                side=rng.choice(("long", "short")),
                price=Decimal(rng.randrange(1, 10**7)) / 1000,
                qty=Decimal(rng.randrange(1, 10**5)) / 100,
                usd_cents=rng.randrange(100, 10**8),
                ts=ts,
                recv_ts=ts + rng.randrange(5, 200),
                sampled=exchange != "bybit" and rng.random() < 0.3,
            )
        )
    return out


def category(key: str, keys: Keys) -> str:
    """What a key holds, for the breakdown (names from liqmon.keys)."""
    if key == keys.events:
        return "stream"
    if key.startswith(keys.events + ":sym:") or key == keys.indexed_symbols:
        return "symbol index"
    if key.startswith(keys.events + ":ids:"):
        return "append dedup ids"
    gen = keys.agg("g1") + ":"
    if key.startswith(gen + "b:"):
        return "agg dedup ids" if key.endswith(":ids") else "agg buckets"
    if key.startswith(gen + "s:"):
        return "agg per-minute series"
    if key.startswith(gen):
        return "agg windows (totals, coins, ranks, largest, tape)"
    return "other"


async def measure(n: int) -> None:
    server = EmbeddedRedis(None, persistent=False)
    server.start()
    redis = create_redis(server.url, socket_timeout=120)
    keys = Keys(PREFIX)
    try:
        base = int((await redis.info("memory"))["used_memory"])
        now = time.time_ns() // 1_000_000
        events = make_events(n, now)
        raw_bytes = sum(len(v) for e in events for v in e.to_fields().values())
        appender = StreamAppender(redis, keys, retention_ms=RETENTION_MS)
        started = time.perf_counter()
        for i in range(0, n, 2000):
            await appender.append(events[i : i + 2000])
        appended = time.perf_counter() - started
        del events
        started = time.perf_counter()
        await drain(server.url, PREFIX, timeout=3600)
        folded = time.perf_counter() - started
        total = int((await redis.info("memory"))["used_memory"]) - base
        by: Counter[str] = Counter()
        count: Counter[str] = Counter()
        names = [key async for key in redis.scan_iter(count=1000)]
        for i in range(0, len(names), 1000):
            pipe = redis.pipeline(transaction=False)
            for key in names[i : i + 1000]:
                pipe.memory_usage(key, samples=0)
            for key, size in zip(names[i : i + 1000], await pipe.execute(), strict=True):
                by[category(key, keys)] += int(size or 0)
                count[category(key, keys)] += 1
        print(f"memory bench: {n:,} events over 48 h (appended in {appended:.0f} s, folded in"
              f" {folded:.0f} s); redis {server.url}")  # fmt: skip
        print(f"  used_memory growth: {total / n:7.1f} B/event   ({total / 2**20:,.1f} MiB)")
        print(f"  baseline, the entries' field values alone: {raw_bytes / n:7.1f} B/event")
        print(f"  {'share':<52} {'B/event':>8} {'keys':>8}")
        for name, size in sorted(by.items(), key=lambda kv: -kv[1]):
            print(f"  {name:<52} {size / n:8.1f} {count[name]:8,}")
        stream = by["stream"] + by["symbol index"] + by["append dedup ids"]
        windows = sum(v for k, v in by.items() if k.startswith("agg"))
        print(f"  => stream share {stream / n:.1f} B/event (entries + index + dedup ids),"
              f" windows share {windows / n:.1f} B/event; sum of keys"
              f" {sum(by.values()) / n:.1f} B/event  (target <= 300)")  # fmt: skip
    finally:
        await redis.aclose()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--events", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(measure(args.events or (100_000 if args.quick else 1_000_000)))
