"""Simulator throughput: liquidations/s it generates, prices, encodes and writes to clients.

    .venv/bin/python bench/sim_throughput.py [--quick]

The simulator runs the `max` scenario (as fast as the clients read, Binance sampling off)
in this process; plain WebSocket clients (one per venue: USDⓈ-M raw, COIN-M combined, OKX)
read in a CHILD process so they do not share this process's core. Baseline, same run, same
child: a bare websockets server writing one pre-encoded forceOrder frame as fast as the
same backpressure rule allows — the ceiling of the transport alone, so the ratio shows
what generation + ledger cost on top.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

from websockets.asyncio.server import ServerConnection, serve

from liqmon_sim.settings import SimSettings
from liqmon_sim.simulator import ExchangeSimulator

FRAME = (
    b'{"e":"forceOrder","E":1791565603055,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",'
    b'"q":"0.190","p":"82338.30","ap":"82651.90","X":"FILLED","l":"0.155","z":"0.190",'
    b'"T":1791565602120,"ps":"BTCUSDT","st":1}}'
)
HIGH_WATER = 1 << 20

CLIENT = r"""
import asyncio, json, sys, time
from websockets.asyncio.client import connect

async def read(url, first, counts, key, stop):
    async with connect(url, max_size=None) as ws:
        if first:
            await ws.send(first)
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), 0.5)
                counts[key] += 1
            except TimeoutError:
                pass

async def main():
    urls = json.loads(sys.argv[1]); seconds = float(sys.argv[2])
    counts = {k: 0 for k in urls}; stop = asyncio.Event()
    tasks = [asyncio.create_task(read(u, f, counts, k, stop)) for k, (u, f) in urls.items()]
    await asyncio.sleep(seconds); stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(counts))

asyncio.run(main())
"""
OKX_SUB = json.dumps(
    {
        "op": "subscribe",
        "args": [{"channel": "liquidation-orders", "instType": t} for t in ("SWAP", "FUTURES")],
    }
)


def run_client(urls: dict[str, tuple[str, str | None]], seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, json.dumps(urls), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )


async def finish(child: subprocess.Popen[str]) -> dict[str, int]:
    out, _ = await asyncio.to_thread(child.communicate)
    return dict(json.loads(out.strip().splitlines()[-1]))


async def bench_sim(seconds: float) -> tuple[float, float, float]:
    async with ExchangeSimulator(SimSettings(sim_scenario="max")) as sim:
        urls = sim.urls
        child = run_client(
            {
                "usdm": (f"{urls['LIQMON_BINANCE_USDM_WS_URL']}/ws/!forceOrder@arr", None),
                "coinm": (
                    f"{urls['LIQMON_BINANCE_COINM_WS_URL']}/stream?streams=!forceOrder@arr",
                    None,
                ),
                "okx": (urls["LIQMON_OKX_WS_URL"], OKX_SUB),
            },
            seconds,
        )
        while not all(
            v.has_audience()
            for v in (sim.server(n) for n in ("binance-usdm", "binance-coinm", "okx"))
        ):
            await asyncio.sleep(0.01)
        start_count, started = sim.ledger.totals.count, time.perf_counter()
        cpu = time.process_time()
        await asyncio.sleep(seconds - 1.0)
        emitted = sim.ledger.totals.count - start_count
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        await sim.control("pause")
        frames = await finish(child)
    return emitted / elapsed, sum(frames.values()) / seconds, 1e6 * cpu / max(1, emitted)


async def bench_baseline(seconds: float) -> tuple[float, float]:
    conns: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        conns.add(ws)
        await ws.wait_closed()
        conns.discard(ws)

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        child = run_client({"raw": (f"ws://127.0.0.1:{port}/", None)}, seconds)
        while not conns:
            await asyncio.sleep(0.01)
        deadline = time.perf_counter() + seconds - 0.5
        cpu, sent = time.process_time(), 0
        while time.perf_counter() < deadline and conns:
            for ws in list(conns):
                for _ in range(256):
                    ws.protocol.send_text(FRAME)
                sent += 256
                ws.send_data()
                while (
                    ws.transport is not None and ws.transport.get_write_buffer_size() > HIGH_WATER
                ):
                    await asyncio.sleep(0.001)
            await asyncio.sleep(0)
        cpu = time.process_time() - cpu
        frames = await finish(child)
    return sum(frames.values()) / seconds, 1e6 * cpu / max(1, sent)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    rounds, seconds = (3, 3.0) if quick else (5, 10.0)
    baselines, events, frames, base_cpu, sim_cpu = [], [], [], [], []
    for _ in range(rounds):  # interleaved, so a busy neighbour hurts both sides alike
        b, bc = await bench_baseline(seconds)
        baselines.append(b)
        base_cpu.append(bc)
        e, f, c = await bench_sim(seconds)
        events.append(e)
        frames.append(f)
        sim_cpu.append(c)
    med = statistics.median
    print(f"medians over {rounds} interleaved rounds of {seconds:.0f} s; {os.cpu_count()} CPUs")
    print(f"{'measure':52} {'per second':>12}")
    print(f"{'baseline: bare websockets, pre-encoded frame':52} {med(baselines):>12,.0f}")
    print(f"{'simulator (max): liquidations emitted (ledger)':52} {med(events):>12,.0f}")
    print(f"{'simulator (max): frames received by the clients':52} {med(frames):>12,.0f}")
    ratios = [e / b for e, b in zip(events, baselines, strict=True)]
    print(f"median ratio liquidations / baseline frames: {med(ratios):.2f}")
    # CPU time per item is what a loaded machine changes least (throughput is its share)
    print(
        f"CPU per item: baseline {med(base_cpu):.1f} us per frame written, "
        f"simulator {med(sim_cpu):.1f} us per liquidation; load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
