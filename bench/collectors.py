"""Collector benchmark: frames/s a collector process turns into stream entries, and latency.

    .venv/bin/python bench/collectors.py [--quick]

Setup, all real and on loopback: a private redis-server, a feeder WebSocket server (this
process) that speaks Binance USDⓈ-M `!forceOrder@arr` (plus exchangeInfo over HTTP), and
`liqmon run collector-binance` as a child process (one asyncio process: at most one core).

1. Throughput: the feeder writes N pre-encoded WebSocket frames to the socket at once; we
   time from that write until XLEN reaches N. Printed beside two baselines measured in this
   run on the same frames: plain `json.loads` + field extraction (what any collector must
   at least do) and our parser alone (no I/O), so the table shows where the time goes.
2. Latency at a steady 1,000 events/s: per event, `stream id time - recv_ts` (the
   collector's own receive stamp to the Redis write; ms resolution, as both are ms) and the
   end-to-end upper bound "feeder send -> readable by an XREAD BLOCK reader" (µs clocks).

Target: >= 20,000 events/s per collector process, p99 receive->stream < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from liqmon.embedded_redis import EmbeddedRedis
from liqmon.keys import Keys
from liqmon.redis_client import create_redis
from liqmon_binance.parser import USDM, ForceOrderParser

BASE_TS = 1_790_000_000_000
COINS = [f"C{i:03d}" for i in range(150)] + ["1000PEPE", "BTC", "ETH", "SOL", "1000SHIB"]


def frame(i: int, ts: int | None = None) -> str:
    coin = COINS[i % len(COINS)]
    qty = f"{1 + i % 997}.{i % 1000:03d}"
    return orjson.dumps(
        {
            "e": "forceOrder", "E": BASE_TS + i,
            "o": {
                "s": f"{coin}USDT", "S": "SELL" if i % 3 else "BUY", "o": "LIMIT", "f": "IOC",
                "q": qty, "p": "101.25", "ap": f"{100 + i % 50}.{i % 100:02d}", "X": "FILLED",
                "l": qty, "z": qty, "T": ts if ts is not None else BASE_TS + i, "ps": f"{coin}USDT",
                "st": 1,
            },
        }
    ).decode()  # fmt: skip


class Feeder:
    """The loopback venue: waits for the collector's USDⓈ-M connection, then pushes."""

    def __init__(self) -> None:
        self.usdm: ServerConnection | None = None
        self.ready = asyncio.Event()
        self.port = 0

    def http(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        body = b'{"symbols":[]}'
        return Response(200, "OK", Headers([("Content-Length", str(len(body)))]), body)

    async def handler(self, conn: ServerConnection) -> None:
        if conn.request is not None and conn.request.path.startswith("/market"):
            self.usdm = conn
            self.ready.set()
        await conn.wait_closed()


def baseline_json(frames: list[str]) -> float:
    """Plain json.loads + the fields a collector needs; frames/s."""
    started = time.perf_counter()
    for raw in frames:
        o = json.loads(raw)["o"]
        (o["s"], o["S"], o["z"], o["ap"], o["T"])
    return len(frames) / (time.perf_counter() - started)


def baseline_parser(frames: list[str]) -> float:
    parser = ForceOrderParser(USDM, {})
    started = time.perf_counter()
    for raw in frames:
        parser.parse_frame(raw, BASE_TS)
    return len(frames) / (time.perf_counter() - started)


async def wait_len(redis: Any, key: str, n: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while (length := int(await redis.xlen(key))) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"stream stuck at {length}/{n}")
        await asyncio.sleep(0.002)
    return time.perf_counter()


def ws_frame(payload: bytes) -> bytes:
    """One unmasked server-to-client text frame (RFC 6455 §5.2), byte for byte."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65_536:
        return bytes((0x81, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + size.to_bytes(8, "big") + payload


async def throughput(feeder: Feeder, redis: Any, keys: Keys, n: int) -> float:
    """The frames are pre-encoded on the wire format and written to the socket in one go, so
    the feeder's own speed does not cap the figure: this is the collector's capacity."""
    blob = b"".join(ws_frame(frame(i).encode()) for i in range(n))
    assert feeder.usdm is not None
    started = time.perf_counter()
    feeder.usdm.transport.write(blob)
    done = await wait_len(redis, keys.events, n, timeout=120)
    return n / (done - started)


async def latency(
    feeder: Feeder, redis_url: str, keys: Keys, offset: int, rate: int, seconds: float
) -> tuple[list[float], list[float]]:
    """Steady `rate` events/s; returns (recv->stream ms, send->readable ms) per event."""
    reader = create_redis(redis_url, socket_timeout=None)
    last_id = (await reader.xinfo_stream(keys.events))["last-generated-id"]
    count = int(rate * seconds)
    send_ns: dict[int, int] = {}
    recv_to_stream: list[float] = []
    send_to_read: list[float] = []

    async def read() -> None:
        nonlocal last_id
        while len(send_to_read) < count:
            reply = await reader.xread({keys.events: last_id}, block=1000, count=1000)
            now = time.time_ns()
            for _, entries in reply:
                for entry_id, fields in entries:
                    last_id = entry_id
                    i = int(fields["ts"]) - BASE_TS
                    recv_to_stream.append(int(entry_id.split("-")[0]) - int(fields["recv_ts"]))
                    send_to_read.append((now - send_ns[i]) / 1e6)

    task = asyncio.create_task(read())
    assert feeder.usdm is not None
    started = time.perf_counter()
    for k in range(count):
        i = offset + k
        raw = frame(i)
        target = started + k / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        send_ns[i] = time.time_ns()
        await feeder.usdm.send(raw)
    await asyncio.wait_for(task, 30)
    await reader.aclose()
    return recv_to_stream, send_to_read


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(quick: bool) -> int:
    n = 30_000 if quick else 200_000
    seconds = 5.0 if quick else 30.0
    tmp = Path(tempfile.mkdtemp(prefix="liqmon-bench-"))
    server = EmbeddedRedis(tmp, persistent=False)
    server.start()
    feeder = Feeder()
    ws = await serve(feeder.handler, "127.0.0.1", 0, process_request=feeder.http, max_queue=None)
    feeder.port = ws.sockets[0].getsockname()[1]
    base = f"127.0.0.1:{feeder.port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
    env.update(
        REDIS_URL=server.url,
        LIQMON_BINANCE_USDM_WS_URL=f"ws://{base}/market",
        LIQMON_BINANCE_USDM_REST_URL=f"http://{base}",
        LIQMON_BINANCE_COINM_WS_URL=f"ws://{base}",
        LIQMON_BINANCE_COINM_REST_URL=f"http://{base}",
        LIQMON_LOG_LEVEL="WARNING",
    )
    log = (tmp / "collector.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "liqmon", "run", "collector-binance"],
        env=env,
        stdout=log,
        stderr=log,
    )
    redis = create_redis(server.url)
    keys = Keys("liq")
    try:
        await asyncio.wait_for(feeder.ready.wait(), 30)
        sample = [frame(i) for i in range(min(n, 50_000))]
        json_rate = baseline_json(sample)
        parser_rate = baseline_parser(sample)
        rate = await throughput(feeder, redis, keys, n)
        r2s, s2r = await latency(feeder, server.url, keys, n, 1000, seconds)
        total = int(await redis.xlen(keys.events))
        status = await redis.hgetall(keys.collector_status("binance"))
    finally:
        proc.terminate()
        proc.wait(20)
        await redis.aclose()
        ws.close()
        await ws.wait_closed()
        server.stop()
    rows = [
        ("baseline: json.loads + fields (no I/O)", f"{json_rate:,.0f} frames/s", "1.00x"),
        (
            "our parser alone (no I/O)",
            f"{parser_rate:,.0f} frames/s",
            f"{parser_rate / json_rate:.2f}x",
        ),
        (
            "collector process: socket -> stream",
            f"{rate:,.0f} events/s",
            f"{rate / json_rate:.2f}x",
        ),
    ]
    out = sys.stdout
    out.write(f"collector throughput, {n:,} single-event frames, {len(COINS)} symbols\n")
    for name, value, ratio in rows:
        out.write(f"  {name:<42} {value:>20} {ratio:>7}\n")
    out.write(f"latency at 1,000 events/s for {seconds:.0f}s ({len(r2s):,} events)\n")
    out.write(f"  {'':<42} {'p50':>8} {'p99':>8} {'max':>8}\n")
    for name, values in (
        ("recv_ts -> stream id (ms, ms clocks)", r2s),
        ("feeder send -> XREAD (ms)", s2r),
    ):
        p50, p99 = statistics.median(values), pct(values, 0.99)
        out.write(f"  {name:<42} {p50:8.2f} {p99:8.2f} {max(values):8.2f}\n")
    out.write(
        f"stream entries {total:,} of {n + len(r2s):,} sent; collector status: "
        f"dropped={status.get('buffer_dropped')} errors={status.get('errors')}\n"
    )
    ok = total == n + len(r2s) and rate >= 20_000 and pct(r2s, 0.99) < 20
    verdict = "met" if ok else "NOT met"
    out.write(f"targets (>= 20,000 events/s, p99 < 20 ms, nothing lost): {verdict}\n")
    load = os.getloadavg()[0]
    out.write(f"(machine load average {load:.1f} on {os.cpu_count()} cores during the run)\n")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run (< 60 s)")
    sys.exit(asyncio.run(main(parser.parse_args().quick)))
