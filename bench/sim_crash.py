"""The simulator alone under the `crash` scenario: CPU per liquidation and emitted vs asked.

    .venv/bin/python bench/sim_crash.py [--quick] [--rate 10000] [--seconds 20]
                                        [--rounds 3] [--base DIR]

`liqmon run exchange-sim` (scenario `crash`, scaled so its MEAN rate of liquidations is
`--rate`, as bench/e2e.py scales it) feeds the real collectors (one `collectors` process)
writing to a private redis-server; no aggregator, web or SSE clients, so the figure is the
simulator's own cost with every venue's real subscribers. Each round measures the
simulator's CPU seconds (user + system) per emitted liquidation and the emitted rate as a
share of the asked one.

Each round also prints the collectors process's CPU seconds per emitted liquidation (it
reads every one; its own share of a crash, for the collectors' A/B).

`--base DIR`: an A/B comparison. DIR holds another checkout of the repository (e.g.
`git archive main | tar -x -C DIR`); rounds alternate between this tree and DIR, so a busy
neighbour hurts both sides alike. `--base-part simulator` (the default) takes DIR's
simulator (its `services/exchange-sim` first on PYTHONPATH; the collectors are this tree's);
`--base-part collectors` takes DIR's collectors (its `shared` and every `services/*` first
on the collectors' PYTHONPATH; the simulator is this tree's).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._pipeline import Stack, crash_liquidations_per_s
from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon_sim.venues.plugin import demo_environment, free_ports


def base_path(base: Path, part: str) -> list[str]:
    """The directories of DIR that go first on PYTHONPATH for its `part`."""
    if part == "simulator":
        return [str(base / "services" / "exchange-sim")]
    return [str(base / "shared"), *(str(d) for d in sorted((base / "services").iterdir()))]


async def one_round(
    rate: float, seconds: float, base: Path | None, part: str = "simulator"
) -> tuple[float, float, float]:
    """(simulator's CPU us per emitted liquidation, emitted / asked, collectors' CPU us per
    emitted liquidation) of one run."""
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        redis = EmbeddedRedis(tmp / "redis", persistent=False)
        redis.start()
        sim_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
        env.update(
            REDIS_URL=redis.url, LIQMON_LOG_LEVEL="WARNING",
            LIQMON_SIM_SCENARIO="crash",
            LIQMON_SIM_RATE_MULTIPLIER=str(rate / crash_liquidations_per_s()),
            LIQMON_SIM_LEDGER_MAX_ENTRIES="10000", LIQMON_SIM_BINANCE_MAX_MSGS_PER_S="0",
            **demo_environment("127.0.0.1", {**free_ports(), "okx": sim_port}),
        )  # fmt: skip
        sides = {"simulator": dict(env), "collectors": dict(env)}
        if base is not None:
            paths = [*base_path(base, part), env.get("PYTHONPATH")]
            sides[part]["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
        sim = Stack(tmp, sides["simulator"], ("exchange-sim",))
        collectors = Stack(tmp, sides["collectors"], ("collectors",))
        url = f"http://127.0.0.1:{sim_port}/_sim"
        try:
            sim.start()
            collectors.start()
            async with httpx.AsyncClient(timeout=30) as http:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        venues = (await http.get(f"{url}/stats")).json()["venues"]
                        if all(venues[k]["ready"].get(k) for k in venues):
                            break
                    except (httpx.TransportError, ValueError):
                        pass
                    assert time.monotonic() < deadline, sim.errors() | collectors.errors()
                    await asyncio.sleep(0.2)
                await asyncio.sleep(2.0)  # past the scenario's 3 s ramp
                ps = psutil.Process(sim.procs["exchange-sim"].pid)
                pc = psutil.Process(collectors.procs["collectors"].pid)
                e0 = int((await http.get(f"{url}/totals")).json()["count"])
                c0, k0, t0 = ps.cpu_times(), pc.cpu_times(), time.monotonic()
                await asyncio.sleep(seconds)
                e1 = int((await http.get(f"{url}/totals")).json()["count"])
                c1, k1, took = ps.cpu_times(), pc.cpu_times(), time.monotonic() - t0
        finally:
            collectors.stop()
            sim.stop()
            redis.stop()
    cpu = (c1.user + c1.system) - (c0.user + c0.system)
    collectors_cpu = (k1.user + k1.system) - (k0.user + k0.system)
    emitted = max(1, e1 - e0)
    return 1e6 * cpu / emitted, emitted / took / rate, 1e6 * collectors_cpu / emitted


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=10_000.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", type=Path, help="A/B against the checkout in DIR")
    parser.add_argument(
        "--base-part", choices=("simulator", "collectors"), default="simulator",
        help="which process runs DIR's code in its rounds",
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="one round of 10 s")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 1, 10.0
    sides: list[Path | None] = [None] if args.base is None else [args.base, None]
    results: dict[Path | None, list[tuple[float, float, float]]] = {s: [] for s in sides}
    for i in range(args.rounds):
        for side in sides:
            cpu, share, coll = await one_round(args.rate, args.seconds, side, args.base_part)
            results[side].append((cpu, share, coll))
            name = "this tree" if side is None else f"base {side}"
            print(f"round {i + 1} {name:24s} {cpu:6.1f} us/liquidation, emitted {share:.0%} "
                  f"of {args.rate:.0f}/s; collectors {coll:5.1f} us/liquidation; "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    med = statistics.median
    print(f"medians over {args.rounds} rounds of {args.seconds:.0f} s at {args.rate:.0f}/s:")
    for side, rows in results.items():
        name = "this tree" if side is None else f"base {side}"
        print(f"  {name:24s} {med(r[0] for r in rows):6.1f} us/liquidation, "
              f"emitted {med(r[1] for r in rows):.0%} of asked; "
              f"collectors {med(r[2] for r in rows):5.1f} us/liquidation")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
