"""Append-script benchmark: Redis CPU per event of the collectors' append, split by part.

    .venv/bin/python bench/append_script.py [--quick] [--batch 10,100] [--rounds 3] [--split]
        [--against REV] [--callgrind] [--no-aof]

What it measures, on a private redis-server with the production persistence (AOF
everysec; `--no-aof` to leave it out): crash-like batches of fresh events (200 coins with
Zipf-like popularity, three exchanges, event times in the last few seconds) written by

- `xadd`: the raw `liqmon.bus.append_events` (pipelined XADD of the 15 fields, no dedup,
  no index): the in-run baseline, what any writer of these entries costs Redis;
- `script`: the production `StreamAppender` (the append script, one EVALSHA per batch);
- `script@REV` (`--against REV`): the StreamAppender of an older git revision, for an A/B
  in one process against one Redis;
- ablations of the script (`--split`), each the production payload into a cut-down script:
  `call` (the EVALSHA and its arguments only), `+decode` (the payload unpacked into Lua),
  `+xadd` (the main stream's XADD per row), `+dedup` (the appended-ids check and its
  expiry): what is left between `+dedup` and `script` is the per-symbol index.

Per variant it prints the redis-server process's CPU (user + system, all threads) per
event, the bench process's own CPU per event (the collector side: packing the batch,
sending it, reading the reply) and, for `script`, Redis's own split of the call from INFO
commandstats (each command the script runs, and the script's own Lua time: the
EVALSHA's usec minus those commands'). Variants run interleaved, `--rounds` times; each
figure is the median over the rounds. `--callgrind` counts Redis's instructions instead
of its CPU time (valgrind; slow, so 2,000 events), with the split of where they go: the
same figure whatever the load, for an A/B on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from liqmon import bus, scripts
from liqmon.collector import streamwrite
from liqmon.collector.streamwrite import StreamAppender
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon.redis_client import create_redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import memory  # (after the path insert)

RETENTION_MS = 48 * 3_600_000

#: Cut-down append scripts for `--split`, on the production payload (KEYS and ARGV as
#: append_events.lua's header states them); each adds one part to the one before, and
#: `script` (the production one) adds the per-symbol index to the last.
_HEAD = """
local names, flat = cjson.decode(ARGV[2]), cjson.decode(ARGV[3])
local width = #names
local stride = width + 2
local minid = string.format('%d', server_ms() - tonumber(ARGV[1]))
"""
_DEDUP = """
local rows_of = {}
for index = 1, #flat / stride do
  local key = KEYS[flat[(index - 1) * stride + width + 1]]
  rows_of[key] = rows_of[key] or {}
  table.insert(rows_of[key], index)
end
local appended = {}
for key, rows in pairs(rows_of) do
  local ids, new = {}, {}
  for j, index in ipairs(rows) do ids[j] = ARGV[5 + index] end
  local held = redis.call('HMGET', key, unpack(ids))
  for j, index in ipairs(rows) do
    if not held[j] then
      appended[index] = true
      new[#new + 1] = ids[j]
      new[#new + 1] = ''
    end
  end
  if #new > 0 then
    redis.call('HSET', key, unpack(new))
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
"""
_XADD = """
local args, trimmed = {}, false
for f = 1, width do args[2 * f - 1] = names[f] end
for index = 1, #flat / stride do
  if keep(index) then
    local base = (index - 1) * stride
    for f = 1, width do args[2 * f] = flat[base + f] end
    if not trimmed then
      redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', unpack(args, 1, 2 * width))
      trimmed = true
    else
      redis.call('XADD', KEYS[1], '*', unpack(args, 1, 2 * width))
    end
  end
end
return {0, ''}
"""
ABLATIONS: dict[str, str] = {
    "call": "return {0, ''}",
    "+decode": "local flat = cjson.decode(ARGV[3])\nreturn {0, ''}",
    "+xadd": _HEAD + "local function keep() return true end" + _XADD,
    "+dedup": _HEAD + _DEDUP + "local function keep(index) return appended[index] end" + _XADD,
}


#: Coin weights of `--market crash`: bench/memory.py's 200 Zipf-like coins, with the
#: first two boosted to ~55 % and ~11 % of the events (a bench/e2e.py crash run's
#: stream was 62 % BTC and 12 % ETH): what one append's batch holds on a crash day.
CRASH_WEIGHTS = [7.3, 1.5, *memory.WEIGHTS[2:]]


def make_events(n: int, rng: random.Random, market: str) -> list[LiquidationEvent]:
    """`n` fresh events (new random ids; bench/memory.py's market, or `crash`), event
    times as at a crash's 10,000 events/s (so each 5-second bucket's appended-ids hash
    grows as it would: a hash becomes a hash table past 512 ids, so a short run pays
    more for the first, compact ones)."""
    now = time.time_ns() // 1_000_000
    drawn = memory.make_events(n, now, seed=rng.getrandbits(32))
    symbols = (
        rng.choices(memory.SYMBOLS, CRASH_WEIGHTS, k=n)
        if market == "crash"
        else [e.symbol for e in drawn]
    )
    return [
        dataclasses.replace(
            e,
            symbol=symbols[i],
            instrument=f"{symbols[i]}USDT",
            ts=now - n // 10 + i // 10,
            recv_ts=now - n // 10 + i // 10 + 20,
        )
        for i, e in enumerate(drawn)
    ]


Writer = Callable[[list[LiquidationEvent]], Awaitable[object]]


def appender_at(revision: str) -> type[StreamAppender]:
    """The StreamAppender of a git revision of this repository (its streamwrite.py and
    append_events.lua), for an A/B in one process against one Redis."""

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{revision}:shared/liqmon/collector/{path}"],
            cwd=Path(__file__).resolve().parent, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip

    module = types.ModuleType(f"streamwrite_at_{revision}")
    module.__package__ = streamwrite.__package__
    exec(compile(show("streamwrite.py"), f"{revision}:streamwrite.py", "exec"), module.__dict__)
    lua = scripts.PRELUDE + show("append_events.lua")

    class Appender(module.StreamAppender):  # type: ignore[name-defined,misc]
        def __init__(self, redis: Redis, keys: Keys, *, retention_ms: int) -> None:
            super().__init__(redis, keys, retention_ms=retention_ms)
            self._script = redis.register_script(lua)

    return Appender


def writers(redis: Redis, keys: Keys, args: argparse.Namespace) -> dict[str, Writer]:
    """Each variant's batch writer."""

    async def raw(batch: list[LiquidationEvent]) -> object:
        return await bus.append_events(redis, keys, batch, retention_ms=RETENTION_MS)

    out: dict[str, Writer] = {"xadd": raw}
    if args.split:
        for name, body in ABLATIONS.items():
            appender = StreamAppender(redis, keys, retention_ms=RETENTION_MS)
            # the production payload into the cut-down script
            appender._script = redis.register_script(scripts.PRELUDE + body)
            out[name] = appender.append
    out["script"] = StreamAppender(redis, keys, retention_ms=RETENTION_MS).append
    for revision in args.against:
        old = appender_at(revision)(redis, keys, retention_ms=RETENTION_MS)
        out[f"script@{revision}"] = old.append
    return out


class CallgrindRedis(EmbeddedRedis):
    """redis-server under valgrind's callgrind: instructions executed, the same whatever
    the load on the machine (time per event on a shared machine varies by 2x). Slow: use
    a few thousand events."""

    def command(self) -> list[str]:
        out = f"--callgrind-out-file={self.data_dir}/callgrind.out"
        return ["valgrind", "--tool=callgrind", out, *super().command()]

    def start(self, timeout: float = 60.0) -> None:
        super().start(timeout)

    def instructions(self) -> dict[str, float]:
        """Instructions since the last call, in all and in each of `SPLIT` (inclusive)."""
        pid = str(self.process.pid)  # type: ignore[union-attr]
        subprocess.run(["callgrind_control", "-d", pid], check=True, capture_output=True)
        dump = max(Path(str(self.data_dir)).glob("callgrind.out.*"), key=os.path.getmtime)
        text = subprocess.run(
            ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        if keep := os.environ.get("KEEP_CALLGRIND"):  # a directory for the dumps
            shutil.copy(dump, keep)
        dump.unlink()
        out: dict[str, float] = {}
        for line in text.splitlines():
            count, _, where = line.strip().partition(" ")
            if "PROGRAM TOTALS" in where:
                out["all"] = float(count.replace(",", ""))
            name = where.rpartition(":")[2].split(" ")[0]
            if name in SPLIT and name not in out:
                out[name] = float(count.replace(",", ""))
        return out


#: Where Redis spends instructions (inclusive), for --callgrind: the script and what
#: runs inside it, and what surrounds every command.
SPLIT = (
    "serverCron",  # the timer: wall-clock work, not per event (subtracted)
    "readQueryFromClient",  # reading and running the commands
    "processInputBuffer",  # parsing them and running them
    "evalShaCommand",  # the whole script
    "luaRedisCallCommand",  # each redis.call in it, with its command
    "xaddCommand", "hsetnxCommand", "hmgetCommand", "hsetCommand", "zaddCommand",
    "pexpireCommand", "zrangebyscoreCommand",
    "propagatePendingCommands",  # the writes into the AOF buffer
    "beforeSleep",  # replies written, AOF buffer written to the file
)  # fmt: skip


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


Meter = Callable[[], dict[str, float]]


def cpu_meter(pid: int) -> Meter:
    """Redis's CPU ns since the meter's last call (`all`)."""
    last = [cpu_ns(pid)]

    def since() -> dict[str, float]:
        now = cpu_ns(pid)
        used, last[0] = now - last[0], now
        return {"all": float(used)}

    return since


async def run_variant(
    redis: Redis, meter: Meter, write: Writer, events: list[LiquidationEvent], batch: int
) -> tuple[dict[str, float], float, dict[str, float]]:
    """(Redis's meter per event: CPU ns or instructions, bench-process CPU us per event,
    commandstats usec per event by command) for writing `events` in batches of `batch`."""
    await redis.execute_command("FLUSHALL", "SYNC")
    await redis.config_resetstat()
    meter()
    client_cpu0 = time.process_time()
    for i in range(0, len(events), batch):
        await write(events[i : i + batch])
    client_cpu = time.process_time() - client_cpu0
    used_redis = meter()
    used = commandstats_us(await redis.info("commandstats"))
    used.pop("config|resetstat", None)
    n = len(events)
    return (
        {k: v / n for k, v in used_redis.items()},
        1e6 * client_cpu / n,
        {k: v / n for k, v in used.items()},
    )


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kind = CallgrindRedis if args.callgrind else EmbeddedRedis
        server = kind(Path(tmp), persistent=not args.no_aof)
        server.start()
        redis = create_redis(server.url, socket_timeout=600)
        try:
            pid = server.process.pid  # type: ignore[union-attr]
            meter = server.instructions if isinstance(server, CallgrindRedis) else cpu_meter(pid)
            await bench(redis, meter, args)
        finally:
            await redis.aclose()
            server.stop(timeout=60)


async def bench(redis: Redis, meter: Meter, args: argparse.Namespace) -> None:
    keys = Keys("bench")
    variants = writers(redis, keys, args)
    rng = random.Random(7)
    n = args.events or (2_000 if args.callgrind else 5_000 if args.quick else 20_000)
    unit = "instructions (k)" if args.callgrind else "CPU us"
    print(f"append script bench: {n:,} events per variant and batch size, {args.rounds} rounds,"
          f" AOF {'off' if args.no_aof else 'everysec'}, {args.market} market, redis {unit}; load"
          f" {os.getloadavg()[0]:.1f}; {streamwrite.__file__}")  # fmt: skip
    for batch in args.batch:
        redis_used: dict[str, list[dict[str, float]]] = defaultdict(list)
        client_us: dict[str, list[float]] = defaultdict(list)
        split: dict[tuple[str, str], list[float]] = defaultdict(list)
        order = list(variants)
        for round_ in range(args.rounds):
            # each round in another order: drift in the machine's load hits every variant
            for name in order[round_ % len(order) :] + order[: round_ % len(order)]:
                events = make_events(n, rng, args.market)
                r, c, used = await run_variant(redis, meter, variants[name], events, batch)
                # instructions in thousands, CPU ns in us; the timer's work is no event's
                redis_used[name].append({k: v / 1e3 for k, v in r.items()})
                client_us[name].append(c)
                if name.startswith("script"):
                    nested = sum(v for k, v in used.items() if k != "evalsha")
                    split[name, "its own Lua (evalsha minus its commands)"].append(
                        used.get("evalsha", 0.0) - nested
                    )
                    for command, us in used.items():
                        if command != "evalsha":
                            split[name, command].append(us)

        def median(name: str, part: str = "all", used: Any = redis_used) -> float:
            values = [r.get(part, 0.0) - (r.get("serverCron", 0.0) if part == "all" else 0)
                      for r in used[name]]  # fmt: skip
            return statistics.median(values)

        base = median("xadd")
        print(f"  batch {batch}: per event, median of {args.rounds}"
              f" (redis {unit} / bench process CPU us = the collector side)")  # fmt: skip
        for name in variants:
            r, c = median(name), statistics.median(client_us[name])
            spread = "/".join(f"{v['all'] - v.get('serverCron', 0):.1f}" for v in redis_used[name])
            print(f"    {name:16s} redis {r:6.1f} ({spread}; {r / base:4.2f}x xadd)"
                  f"   bench {c:6.1f}")  # fmt: skip
        for name in (v for v in variants if v.startswith("script")):
            if args.callgrind:
                print(f"    {name}, where Redis's instructions go (k per event, inclusive):")
                for part in SPLIT[1:]:
                    print(f"      {part:48s} {median(name, part):6.2f}")
            parts = {part: statistics.median(us) for (of, part), us in split.items() if of == name}
            print(f"    {name}, Redis's own split (commandstats usec per event,"
                  f" {sum(parts.values()):.2f} in all):")  # fmt: skip
            for part, us in sorted(parts.items(), key=lambda kv: -kv[1]):
                print(f"      {part:48s} {us:6.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 events per variant")
    parser.add_argument("--events", type=int, default=0, help="20,000; --callgrind 2,000")
    parser.add_argument(
        "--callgrind", action="store_true",
        help="count Redis's instructions under valgrind (same figure whatever the load)",
    )  # fmt: skip
    parser.add_argument("--batch", type=lambda s: [int(x) for x in s.split(",")], default=[10, 100])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--split", action="store_true", help="also the cut-down scripts")
    parser.add_argument(
        "--against", action="append", default=[], metavar="REV",
        help="also the append script of this git revision (A/B in one run; repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--market", choices=("zipf", "crash"), default="crash",
        help="coins: bench/memory.py's 200 Zipf-like ones, or a crash's (one dominates)",
    )  # fmt: skip
    parser.add_argument("--no-aof", action="store_true", help="redis without AOF")
    asyncio.run(measure(parser.parse_args()))
