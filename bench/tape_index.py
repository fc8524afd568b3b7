"""Filtered tape: `/api/liquidations?symbol=<rare coin>` at 1M events, through the per-coin
index, beside the stream scan it replaces.

    .venv/bin/python bench/tape_index.py [--quick] [--events N] [--rare N] [--requests N]

Setup, all real and on loopback: a private redis-server holding N events (1M by default)
in `liq:v1:events` with their per-coin index entries (`Keys.events_by_symbol`, the same
stream ids, as the collectors' append writes them), `liqmon run web` as a child process,
and this process timing sequential HTTP requests.

- index:  `?symbol=RARE&limit=100`: a coin with `--rare` events spread evenly over the
  stream. One request returns all of them, `next` null (complete to the end of retention).
- scan (baseline, the old way, same run): the same rarity found by walking the stream:
  `?exchange=bybit&limit=100`, where exactly the RARE events are Bybit's. That is the code
  path the symbol filter used before the index (XREVRANGE pages, a cheap string reject per
  entry), bounded at LIQMON_WEB_MAX_SCAN = 10,000 entries per request: each request
  returns a short page and a `next` cursor; the whole listing takes N / 10,000 requests.

- floor (same run): `?symbol=NOSUCHCOIN`, an empty index: the HTTP, validation and one
  index read, nothing found; what a request costs on this machine before any event.

Printed: p50/p99 per request and the web process's CPU time per request (less sensitive
to other jobs on the machine than the latency; median of 3 rounds of `--requests`
requests each), and the time to list every match (the index: one request; the scan:
following `next` to the end).

`--against PYTHON`: also start the web with another interpreter (another checkout's venv,
e.g. the code before a change) on the same Redis, and run every round against both, one
after the other, so old and new see the same data and the same machine load.
Target (issue: crash-day headroom, filtered tape): p99 <= 20 ms at 1M events.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon.keys import Keys
from liqmon.redis_client import create_redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.web import pct_list, wait_http  # (after the path insert)
from tests.web.helpers import make_event

COMMON = ("BTC", "ETH", "SOL", "DOGE", "XRP", "PEPE")
LOAD_BATCH = 5_000


async def load(redis_url: str, n: int, rare: int) -> int:
    """N events (every n // rare-th one RARE on bybit, the rest common coins on binance/okx)
    and their index entries. Events are cloned from a few templates with fresh ids: the
    fields are real, parseable events; only `id` (unique) differs."""
    keys = Keys("liq")
    redis = create_redis(redis_url)
    templates = {
        sym: make_event(symbol=sym, exchange=("binance", "okx")[i % 2]).to_fields()
        for i, sym in enumerate(COMMON)
    }
    templates["RARE"] = make_event(symbol="RARE", exchange="bybit").to_fields()
    step = n // rare
    written = 0
    try:
        for start in range(0, n, LOAD_BATCH):
            pipe = redis.pipeline(transaction=False)
            symbols = []
            for i in range(start, min(start + LOAD_BATCH, n)):
                sym = "RARE" if i % step == step // 2 else COMMON[i % len(COMMON)]
                pipe.xadd(keys.events, {**templates[sym], "id": f"{i:032x}"})
                symbols.append(sym)
            ids = await pipe.execute()
            pipe = redis.pipeline(transaction=False)
            for sym, sid in zip(symbols, ids, strict=True):
                pipe.xadd(keys.events_by_symbol(sym), {"i": ""}, id=sid)
            await pipe.execute()
            written += len(ids)
        return int(await redis.xlen(keys.events_by_symbol("RARE")))
    finally:
        await redis.aclose()


async def timed(client: httpx.AsyncClient, params: dict[str, str]) -> tuple[float, Any]:
    began = time.perf_counter()
    response = await client.get("/api/liquidations", params=params)
    elapsed = (time.perf_counter() - began) * 1000
    assert response.status_code == 200, response.text
    return elapsed, response.json()


async def list_all(client: httpx.AsyncClient, params: dict[str, str]) -> tuple[float, int, int]:
    """Follow `next` to the end: (ms, items, requests)."""
    began = time.perf_counter()
    items = requests = 0
    cursor = None
    while True:
        _, body = await timed(client, {**params, **({"cursor": cursor} if cursor else {})})
        items += len(body["items"])
        requests += 1
        cursor = body["next"]
        if cursor is None:
            return (time.perf_counter() - began) * 1000, items, requests


async def run(args: argparse.Namespace) -> None:
    server = EmbeddedRedis(None, persistent=False)
    server.start()
    webs: list[subprocess.Popen[bytes]] = []
    try:
        began = time.monotonic()
        rare = await load(server.url, args.events, args.rare)
        print(
            f"loaded {args.events:,} events + index in {time.monotonic() - began:.0f} s; "
            f"RARE (Bybit) has {rare} of them"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
        env.update(REDIS_URL=server.url, LIQMON_LOG_LEVEL="WARNING")
        pythons = {"": sys.executable, **({"against ": args.against} if args.against else {})}
        bases: dict[str, str] = {}
        procs: dict[str, psutil.Process] = {}
        for label, python in pythons.items():
            port = free_port()
            webs.append(
                subprocess.Popen(
                    [python, "-m", "liqmon", "run", "web"],
                    env={**env, "LIQMON_WEB_PORT": str(port)},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                )
            )
            bases[label] = f"http://127.0.0.1:{port}"
            procs[label] = psutil.Process(webs[-1].pid)
            await wait_http(f"{bases[label]}/api/health")
        cases = {
            "floor  ?symbol=NOSUCHCOIN": {"symbol": "NOSUCHCOIN", "limit": "100"},
            "index  ?symbol=RARE": {"symbol": "RARE", "limit": "100"},
            "scan   ?exchange=bybit": {"exchange": "bybit", "limit": "100"},
        }
        rows = {
            f"{label}{name}": (label, params) for label in bases for name, params in cases.items()
        }
        figures: dict[str, dict[str, list[float]]] = {row: {} for row in rows}
        clients = {
            label: httpx.AsyncClient(base_url=base, timeout=60) for label, base in bases.items()
        }
        try:
            for label, params in rows.values():  # warm-up (connections, page cache)
                await timed(clients[label], params)
            for round_ in range(3):
                order = list(rows.items())
                if round_ % 2:  # with --against, neither web always goes first
                    order.sort(key=lambda item: item[1][0] == "")
                for row, (label, params) in order:
                    client = clients[label]
                    cpu0 = sum(procs[label].cpu_times()[:2])
                    lat = [(await timed(client, params))[0] for _ in range(args.requests)]
                    cpu = (sum(procs[label].cpu_times()[:2]) - cpu0) / args.requests * 1000
                    figures[row].setdefault("cpu", []).append(cpu)
                    figures[row].setdefault("p50", []).append(pct_list(lat, 0.5))
                    figures[row].setdefault("p99", []).append(pct_list(lat, 0.99))
                    ms, items, requests = await list_all(client, params)
                    figures[row].setdefault("all", []).append(ms)
                    figures[row]["found"] = [float(items)]
                    figures[row]["requests"] = [float(requests)]
        finally:
            for client in clients.values():
                await client.aclose()
        print(
            f"/api/liquidations, {args.events:,} events, one coin with {rare} "
            f"(median of 3 rounds, {args.requests} sequential requests each; "
            f"load {os.getloadavg()[0]:.1f}):"
        )
        if args.against:
            print(f"  (`against`: the web run by {args.against}, same Redis, rounds interleaved)")
        for name, fig in figures.items():
            print(
                f"  {name:32s} p50 {statistics.median(fig['p50']):6.2f} ms  p99 "
                f"{statistics.median(fig['p99']):6.2f} ms  web CPU "
                f"{statistics.median(fig['cpu']):5.2f} ms/request  every match: "
                f"{statistics.median(fig['all']):7.0f} ms in {fig['requests'][0]:.0f} "
                f"request(s), {fig['found'][0]:.0f} found"
            )
        print("  (target: the rare coin's p99 <= 20 ms at 1M events, complete to the end)")
    finally:
        for web in webs:
            web.terminate()
        for web in webs:
            web.wait(10)
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200k events (< 1 minute)")
    parser.add_argument("--events", type=int)
    parser.add_argument("--rare", type=int, default=50, help="events of the rare coin")
    parser.add_argument("--requests", type=int)
    parser.add_argument("--against", metavar="PYTHON", help="also time the web run by PYTHON")
    args = parser.parse_args()
    args.events = args.events or (200_000 if args.quick else 1_000_000)
    args.requests = args.requests or (50 if args.quick else 200)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
