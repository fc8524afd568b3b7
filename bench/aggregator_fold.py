"""The aggregator's CPU per event for pipeline-sized batches, in one process.

    python bench/aggregator_fold.py [--quick] [--batch 100] [--events 60000] [--runs 3]

In the pipeline the aggregator keeps up, so its batches are small (tens to hundreds of
entries), unlike bench/aggregator.py's backlog of 5,000-entry batches. Here live events
(bench/aggregator.py's `make_events`) are cut into `--batch`-entry batches as Redis
sends them (`[field, value, …]`), each triaged (checked, prepared, folded:
`Consumer.triage`) and applied (apply.lua) against a private redis-server, as the
consumer does. Printed per run: this process's CPU per event in triage alone and in
triage + apply (the client side of the EVALSHA), and Redis's time in apply.lua per event.
CPU time, not wall time: it is what a loaded machine changes least.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from liqmon.embedded_redis import EmbeddedRedis
from liqmon.keys import Keys
from liqmon.redis_client import create_redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.aggregator import RETENTION_MS, make_events  # (after the path insert)
from liqmon_aggregator.apply import Applier
from liqmon_aggregator.consumer import Consumer
from liqmon_aggregator.settings import ConsumerSettings


async def one_run(url: str, events: int, batch: int, seed: int) -> tuple[float, float, float]:
    """(triage CPU us/event, triage + apply CPU us/event, Redis apply.lua us/event)."""
    redis = create_redis(url)
    try:
        await redis.flushdb()
        keys = Keys("bench")
        applier = Applier(redis, keys, retention_ms=RETENTION_MS, max_future_ms=300_000, group="")
        consumer = Consumer(redis, redis, keys, applier, ConsumerSettings(), name="bench")
        now = time.time_ns() // 1_000_000
        entries = [
            (f"{now}-{i}", [x for pair in fields.items() for x in pair])
            for i, fields in enumerate(make_events(events, now, seed, live=True))
        ]
        # the first batch teaches the applier Redis's clock and watermarks, as at startup
        first = consumer.triage(entries[:batch], {})
        await applier.apply(first.good, first.plan)
        await redis.config_resetstat()
        triage_cpu = total_cpu = 0.0
        for start in range(batch, len(entries), batch):
            t0 = time.process_time()
            triaged = consumer.triage(entries[start : start + batch], {})
            t1 = time.process_time()
            await applier.apply(triaged.good, triaged.plan)
            triage_cpu += t1 - t0
            total_cpu += time.process_time() - t0
        n = len(entries) - batch
        evalsha = (await redis.info("commandstats")).get("cmdstat_evalsha", {})
        return triage_cpu / n * 1e6, total_cpu / n * 1e6, evalsha.get("usec", 0) / n
    finally:
        await redis.aclose()


async def main(events: int, batch: int, runs: int) -> None:
    server = EmbeddedRedis(None, persistent=False)
    server.start()
    try:
        results = []
        for run in range(runs):
            results.append(await one_run(server.url, events, batch, seed=11 + run))
            triage, total, script = results[-1]
            print(
                f"  run {run + 1}: {events:,} events in batches of {batch}: CPU per event"
                f" triage {triage:.1f} us, triage + apply {total:.1f} us;"
                f" Redis in apply.lua {script:.1f} us"
            )
        print(
            f"  median of {runs}: triage {statistics.median(r[0] for r in results):.1f} us,"
            f" triage + apply {statistics.median(r[1] for r in results):.1f} us,"
            f" Redis in apply.lua {statistics.median(r[2] for r in results):.1f} us per event"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=100, help="entries per batch")
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 events a run")
    args = parser.parse_args()
    asyncio.run(main(20_000 if args.quick else args.events, args.batch, args.runs))
