"""Web benchmark: SSE fan-out to many clients, and /api/summary under a steady request rate.

    .venv/bin/python bench/web.py [--quick] [--clients N] [--rate EV/S] [--seconds S]

Setup, all real and on loopback: a private redis-server, `liqmon run web` as a child
process (one asyncio process; its CPU and RSS are read with psutil), and client processes
(spawned, uvloop; bench/_web_clients.py) holding the SSE connections.

1. Fan-out: N clients on /api/stream; this process XADDs `rate` events/s (in 10 ms
   pipelined batches) for S seconds. Every client counts every `event: liquidation` it
   receives (delivery must be 100%). Probe clients (up to 50) also time each event:
   latency = client receive time - the event's stream id time (the XADD instant, ms).
   Printed: p50/p99 latency, delivered/expected, web process CPU (cores) and peak RSS.
2. /api/summary at a fixed request rate (open loop, 64 keep-alive connections) after the
   events were folded into the windows (the real aggregator code, liqmon_aggregator.
   testing.drain): p50/p99, beside two baselines measured the same way in the same run:
   a 404 from the same app (the framework floor) and a bare Redis PING round trip.

Targets: 1,000 clients at 500 events/s with p99 < 100 ms, under one core and
300 MB; /api/summary at 1,000 requests/s with p99 < 20 ms. The machine has 2 cores shared
by the web process, the clients, Redis and this producer, so client-side scheduling delay
is included in the latency figures (they are upper bounds).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing as mp
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon.keys import Keys
from liqmon.redis_client import create_redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._web_clients import PROBES, RawHttp, clients_process  # (after the path insert)
from tests.web.helpers import make_event

#: How long the idle web process is watched before the fan-out starts.
IDLE_S = 5.0


# --- helpers --------------------------------------------------------------------------
def pct(hist: dict[int, int], q: float) -> float:
    total = sum(hist.values())
    if not total:
        return float("nan")
    target, seen = q * total, 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= target:
            return float(value)
    return float(max(hist))


def pct_list(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] if ordered else float("nan")


async def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer")
            await asyncio.sleep(0.1)


async def produce(redis: Any, keys: Keys, rate: int, seconds: float) -> int:
    """XADD `rate` events/s in 10 ms batches, on a fixed schedule (no drift)."""
    per_tick = max(rate // 100, 1)
    ticks = int(seconds * 100)
    start = time.monotonic()
    sent = 0
    for tick in range(ticks):
        pipe = redis.pipeline(transaction=False)
        for i in range(per_tick):
            ev = make_event(symbol=("BTC", "ETH", "SOL")[i % 3], salt=sent + i)
            pipe.xadd(keys.events, ev.to_fields())
        await pipe.execute()
        sent += per_tick
        delay = start + (tick + 1) / 100 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    return sent


async def open_loop(call: Any, rate: int, seconds: float) -> list[float]:
    """Fire `call()` at `rate`/s regardless of completions; return latencies in ms."""
    latencies: list[float] = []

    async def one() -> None:
        began = time.perf_counter()
        await call()
        latencies.append((time.perf_counter() - began) * 1000)

    tasks = []
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies


def encoding_cost(n: int = 20_000) -> None:
    """Per client and per event, what the SSE layer costs before the socket write:
    FastAPI's native path builds a ServerSentEvent model per yielded item and formats it
    (and then moves it through two memory streams, not counted here); ours joins frames
    that were encoded once per process (sse.py, broadcaster.py)."""
    from fastapi.sse import ServerSentEvent, format_sse_event

    from liqmon_web.event_frames import liquidation_frame

    events = [(f"{1_700_000_000_000 + i}-0", make_event(salt=i)) for i in range(n)]
    payloads = [(sid, orjson.dumps(ev.to_json_dict(sid)).decode()) for sid, ev in events]
    began = time.perf_counter()
    for sid, data in payloads:
        item = ServerSentEvent(raw_data=data, event="liquidation", id=sid)
        format_sse_event(data_str=item.raw_data, event=item.event, id=item.id)
    native = (time.perf_counter() - began) / n
    frames = [liquidation_frame(sid, ev) for sid, ev in events]
    began = time.perf_counter()
    for i in range(0, n, 20):  # a publish carries a batch; a client joins and sends it
        b"".join(frames[i : i + 20])
    ours = (time.perf_counter() - began) / n
    print(
        f"SSE encoding per client per event: FastAPI ServerSentEvent+format "
        f"{native * 1e6:.2f} µs (baseline), pre-encoded shared frames {ours * 1e6:.3f} µs "
        f"({native / ours:.0f}x less)"
    )


# --- the run --------------------------------------------------------------------------
async def run(args: argparse.Namespace) -> None:
    from liqmon_aggregator.testing import drain

    keys = Keys("liq")
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = EmbeddedRedis(None, persistent=False)
        redis_server.start()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
        env.update(
            REDIS_URL=redis_server.url, LIQMON_WEB_PORT=str(port),
            LIQMON_WEB_MAX_SSE_CLIENTS="5000", LIQMON_WEB_MAX_SSE_PER_IP="5000",
            LIQMON_LOG_LEVEL="WARNING", LIQMON_WEB_SSE_BATCH_MS=str(args.batch_ms),
        )  # fmt: skip
        log_path = Path(tmp, "web.log")
        web = subprocess.Popen(
            [sys.executable, "-m", "liqmon", "run", "web"], env=env,
            stdout=log_path.open("wb"), stderr=subprocess.STDOUT,
            preexec_fn=lambda: resource.setrlimit(
                resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2
            ),
        )  # fmt: skip
        redis = create_redis(redis_server.url)
        procs: list[tuple[Any, Any]] = []
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_http(f"{base}/api/health")
            proc = psutil.Process(web.pid)

            # 0. idle: nobody watching, no events (the process should be asleep)
            await asyncio.sleep(1.0)
            idle0, idle_t0 = proc.cpu_times(), time.monotonic()
            await asyncio.sleep(IDLE_S)
            idle1 = proc.cpu_times()
            idle = (idle1.user + idle1.system - idle0.user - idle0.system) / (
                time.monotonic() - idle_t0
            )
            print(f"web process idle (no client, no event, {IDLE_S:.0f} s): CPU {idle:.4f} cores")

            # 1. fan-out
            ctx = mp.get_context("spawn")
            groups = max(1, min(2, args.clients // 250))
            n_all = args.clients
            per_group = [n_all // groups + (i < n_all % groups) for i in range(groups)]
            probes_left = PROBES
            for n in per_group:
                parent, child = ctx.Pipe()
                probes = min(probes_left, n)
                probes_left -= probes
                p = ctx.Process(target=clients_process, args=("127.0.0.1", port, n, probes, child))
                p.start()
                procs.append((p, parent))
            loop = asyncio.get_running_loop()
            for _, pipe in procs:
                assert await loop.run_in_executor(None, pipe.recv) == "ready"
            rss_idle = proc.memory_info().rss
            client_procs = [psutil.Process(p.pid) for p, _ in procs]
            ccpu0 = sum(sum(c.cpu_times()[:2]) for c in client_procs)
            psutil.cpu_percent()
            cpu0, t0 = proc.cpu_times(), time.monotonic()
            peak_rss = rss_idle
            producer = asyncio.create_task(produce(redis, keys, args.rate, args.seconds))
            while not producer.done():
                peak_rss = max(peak_rss, proc.memory_info().rss)
                await asyncio.sleep(0.5)
            sent = producer.result()
            await asyncio.sleep(1.0)  # let the last batches arrive
            cpu1, t1 = proc.cpu_times(), time.monotonic()
            ccpu1 = sum(sum(c.cpu_times()[:2]) for c in client_procs)
            machine = psutil.cpu_percent() / 100 * (psutil.cpu_count() or 1)
            peak_rss = max(peak_rss, proc.memory_info().rss)
            hist: collections.Counter[int] = collections.Counter()
            counts: list[int] = []
            for p, pipe in procs:
                pipe.send("stop")
                h, c = await loop.run_in_executor(None, pipe.recv)
                hist.update(h)
                counts += c
                p.join(10)
            cores = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (t1 - t0)
            expected = sent * args.clients
            delivered = sum(counts)
            print(
                f"SSE fan-out (publish spacing <= {args.batch_ms} ms): {args.clients} clients, "
                f"{args.rate} events/s for "
                f"{args.seconds:.0f} s ({sent} events, {sum(hist.values())} timed)"
            )
            print(
                f"  delivered      {delivered}/{expected} ({delivered / expected:.2%}); "
                f"clients short of all events: {sum(1 for c in counts if c < sent)}"
            )
            print(
                f"  latency XADD->client  p50 {pct(hist, 0.5):.0f} ms   p99 "
                f"{pct(hist, 0.99):.0f} ms   max {max(hist) if hist else 0} ms"
                f"   (target p99 < 100 ms)"
            )
            print(
                f"  web process    CPU {cores:.2f} cores (target < 1)   RSS idle "
                f"{rss_idle / 2**20:.0f} MB, peak {peak_rss / 2**20:.0f} MB (target < 300 MB)"
            )
            print(
                f"                 CPU per event {cores * (t1 - t0) / max(sent, 1) * 1e6:.1f} µs "
                "(web CPU time over the events sent)"
            )
            print(
                f"  context        client processes {(ccpu1 - ccpu0) / (t1 - t0):.2f} cores, "
                f"whole machine busy {machine:.2f} of {psutil.cpu_count()} cores"
            )

            # 2. /api/summary at a steady rate, beside baselines
            await drain(redis_server.url, prefix="liq", timeout=120)
            client = RawHttp("127.0.0.1", port, 64)
            await client.open()
            try:
                size = len((await httpx.AsyncClient().get(f"{base}/api/summary")).content)

                async def summary() -> None:
                    assert await client.get("/api/summary") == 200

                async def not_found() -> None:
                    assert await client.get("/no-such-page") == 404

                async def ping() -> None:
                    await redis.ping()

                print(
                    f"/api/summary ({size / 1024:.0f} KiB) at {args.req_rate} requests/s for "
                    f"{args.req_seconds:.0f} s (open loop, 64 keep-alive connections):"
                )
                for name, call in (
                    ("redis PING (baseline)", ping),
                    ("404 same app (baseline)", not_found),
                    ("/api/summary", summary),
                ):
                    cpu0, t0 = proc.cpu_times(), time.monotonic()
                    lat = await open_loop(call, args.req_rate, args.req_seconds)
                    cpu1, t1 = proc.cpu_times(), time.monotonic()
                    cores = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (t1 - t0)
                    print(
                        f"  {name:26s} p50 {pct_list(lat, 0.5):6.2f} ms   p99 "
                        f"{pct_list(lat, 0.99):6.2f} ms   web CPU {cores:.2f} cores"
                    )
            finally:
                await client.close()
            print("  (target: /api/summary p99 < 20 ms at 1,000 requests/s)")
        except BaseException:
            sys.stdout.write(log_path.read_text(errors="replace")[-3000:])
            raise
        finally:
            for p, _ in procs:
                if p.is_alive():
                    p.kill()
            web.terminate()
            web.wait(10)
            await redis.aclose()
            redis_server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer clients, shorter (< 90 s)")
    parser.add_argument("--clients", type=int)
    parser.add_argument("--rate", type=int, default=500, help="events/s")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--batch-ms", type=int, default=30, help="LIQMON_WEB_SSE_BATCH_MS")
    parser.add_argument("--req-rate", type=int)
    parser.add_argument("--req-seconds", type=float)
    args = parser.parse_args()
    args.clients = args.clients or (200 if args.quick else 1000)
    args.seconds = args.seconds or (10.0 if args.quick else 30.0)
    args.req_rate = args.req_rate or (500 if args.quick else 1000)
    args.req_seconds = args.req_seconds or (3.0 if args.quick else 10.0)
    encoding_cost(5_000 if args.quick else 20_000)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
