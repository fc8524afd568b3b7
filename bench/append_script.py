"""Append-script benchmark: Redis CPU per event of the collectors' append, split by part.

    .venv/bin/python bench/append_script.py [--quick] [--batch 10,100] [--rounds 3] [--no-aof]

What it measures, on a private redis-server with the production persistence (AOF
everysec; `--no-aof` to leave it out): crash-like batches of fresh events (200 coins with
Zipf-like popularity, three exchanges, event times in the last few seconds) written by

- `xadd`: the raw `liqmon.bus.append_events` (pipelined XADD of the 15 fields, no dedup,
  no index): the in-run baseline, what any writer of these entries costs Redis;
- `script`: the production `StreamAppender` (the append script, one EVALSHA per batch);
- ablations of the script (`--split`), each the production payload into a cut-down script:
  `call` (the EVALSHA and its arguments only), `+decode` (the payload unpacked into Lua),
  `+xadd` (the main stream's XADD per row), `+dedup` (the appended-ids check and its
  expiry): what is left between `+dedup` and `script` is the per-symbol index.

Per variant it prints the redis-server process's CPU (user + system, all threads) per
event, the bench process's own CPU per event (the collector side: packing the batch,
sending it, reading the reply) and, for `script`, Redis's own split of the call from INFO
commandstats (each command the script runs, and the script's own Lua time: the
EVALSHA's usec minus those commands'). Variants run interleaved, `--rounds` times; each
figure is the median over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis

from liqmon import bus, scripts
from liqmon.collector import streamwrite
from liqmon.collector.streamwrite import StreamAppender
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon.redis_client import create_redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import SYMBOLS, WEIGHTS, linear_event  # (after the path insert)

RETENTION_MS = 48 * 3_600_000

#: Cut-down append scripts for `--split`, on the production payload (KEYS and ARGV as
#: append_events.lua's header states them); each adds one part to the one before.
ABLATIONS: dict[str, str] = {
    "call": 'return {0, ""}',
    "+decode": """
local rows = cjson.decode(ARGV[3])
return {#rows, ""}
""",
    "+xadd": """
local rows = cjson.decode(ARGV[3])
local names = cjson.decode(ARGV[2])
local width = #names
local minid = string.format('%d', server_ms() - tonumber(ARGV[1]))
local args = {}
for index = 1, #rows do
  local row = rows[index]
  for f = 1, width do args[2 * f - 1] = names[f]; args[2 * f] = row[f] end
  if index == 1 then
    redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', unpack(args, 1, 2 * width))
  else
    redis.call('XADD', KEYS[1], '*', unpack(args, 1, 2 * width))
  end
end
return {#rows, ""}
""",
    "+dedup": """
local rows = cjson.decode(ARGV[3])
local names = cjson.decode(ARGV[2])
local width = #names
local minid = string.format('%d', server_ms() - tonumber(ARGV[1]))
local args, touched, trimmed = {}, {}, false
for index = 1, #rows do
  local row = rows[index]
  local ids_key = KEYS[row[width + 1]]
  if redis.call('HSETNX', ids_key, ARGV[5 + index], '') == 1 then
    touched[ids_key] = true
    for f = 1, width do args[2 * f - 1] = names[f]; args[2 * f] = row[f] end
    if not trimmed then
      redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', unpack(args, 1, 2 * width))
      trimmed = true
    else
      redis.call('XADD', KEYS[1], '*', unpack(args, 1, 2 * width))
    end
  end
end
for key in pairs(touched) do redis.call('PEXPIRE', key, ARGV[1]) end
return {#rows, ""}
""",
}


def make_events(n: int, rng: random.Random) -> list[LiquidationEvent]:
    """`n` fresh events (new random ids), event times in the last ~10 s (a crash's
    batches span one or two 5-second buckets)."""
    now = time.time_ns() // 1_000_000
    symbols = rng.choices(SYMBOLS, WEIGHTS, k=n)
    out = []
    for i in range(n):
        exchange = rng.choice(("binance", "okx", "bybit"))
        ts = now - 10_000 + 10_000 * i // n
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


Writer = Callable[[list[LiquidationEvent]], Awaitable[object]]


def writers(redis: Redis, keys: Keys, split: bool) -> dict[str, Writer]:
    """Each variant's batch writer, in the order they run within a round."""

    async def raw(batch: list[LiquidationEvent]) -> object:
        return await bus.append_events(redis, keys, batch, retention_ms=RETENTION_MS)

    out: dict[str, Writer] = {"xadd": raw}
    if split:
        for name, body in ABLATIONS.items():
            appender = StreamAppender(redis, keys, retention_ms=RETENTION_MS)
            # the production payload into the cut-down script
            appender._script = redis.register_script(scripts.PRELUDE + body)
            out[name] = appender.append
    out["script"] = StreamAppender(redis, keys, retention_ms=RETENTION_MS).append
    return out


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid` in ns (/proc schedstat: psutil's clock ticks are
    10 ms, too coarse for a few thousand events)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread ended
            total += int((task / "schedstat").read_text().split()[0])
    return total


def commandstats_us(stats: dict[str, dict[str, float]]) -> dict[str, float]:
    return {k.removeprefix("cmdstat_"): float(v["usec"]) for k, v in stats.items()}


async def run_variant(
    redis: Redis, server: int, write: Writer, events: list[LiquidationEvent], batch: int
) -> tuple[float, float, dict[str, float]]:
    """(Redis CPU us per event, bench-process CPU us per event, commandstats usec per event
    by command) for writing `events` in batches of `batch`."""
    await redis.execute_command("FLUSHALL", "SYNC")
    await redis.config_resetstat()
    redis_cpu0 = cpu_ns(server)
    client_cpu0 = time.process_time()
    for i in range(0, len(events), batch):
        await write(events[i : i + batch])
    client_cpu = time.process_time() - client_cpu0
    redis_cpu = (cpu_ns(server) - redis_cpu0) / 1e9
    used = commandstats_us(await redis.info("commandstats"))
    used.pop("config|resetstat", None)
    n = len(events)
    return 1e6 * redis_cpu / n, 1e6 * client_cpu / n, {k: v / n for k, v in used.items()}


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp), persistent=not args.no_aof)
        server.start()
        redis = create_redis(server.url, socket_timeout=120)
        try:
            await bench(redis, server.process.pid, args)  # type: ignore[union-attr]
        finally:
            await redis.aclose()
            server.stop()


async def bench(redis: Redis, server: int, args: argparse.Namespace) -> None:
    keys = Keys("bench")
    variants = writers(redis, keys, args.split)
    rng = random.Random(7)
    n = 5_000 if args.quick else args.events
    print(f"append script bench: {n:,} events per variant and batch size, {args.rounds} rounds,"
          f" AOF {'off' if args.no_aof else 'everysec'}; load {os.getloadavg()[0]:.1f};"
          f" {streamwrite.__file__}")  # fmt: skip
    for batch in args.batch:
        redis_us: dict[str, list[float]] = defaultdict(list)
        client_us: dict[str, list[float]] = defaultdict(list)
        split: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.rounds):
            for name, write in variants.items():
                events = make_events(n, rng)
                r, c, used = await run_variant(redis, server, write, events, batch)
                redis_us[name].append(r)
                client_us[name].append(c)
                if name == "script":
                    nested = sum(v for k, v in used.items() if k != "evalsha")
                    split["script's own Lua (evalsha minus its commands)"].append(
                        used.get("evalsha", 0.0) - nested
                    )
                    for command, us in used.items():
                        if command != "evalsha":
                            split[command].append(us)
        base = statistics.median(redis_us["xadd"])
        print(f"  batch {batch}: CPU us per event, median of {args.rounds}"
              f" (redis / bench process = collector side)")  # fmt: skip
        for name in variants:
            r, c = statistics.median(redis_us[name]), statistics.median(client_us[name])
            spread = "/".join(f"{v:.1f}" for v in redis_us[name])
            print(f"    {name:8s} redis {r:6.1f} ({spread}; {r / base:4.2f}x xadd)"
                  f"   bench {c:6.1f}   sum {r + c:6.1f}")  # fmt: skip
        print("    script, Redis's own split (commandstats usec per event):")
        for part, values in sorted(split.items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"      {part:48s} {statistics.median(values):6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 events per variant")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=lambda s: [int(x) for x in s.split(",")], default=[10, 100])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--split", action="store_true", help="also the cut-down scripts")
    parser.add_argument("--no-aof", action="store_true", help="redis without AOF")
    asyncio.run(measure(parser.parse_args()))
