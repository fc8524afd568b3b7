"""Memory footprint of `liqmon up --demo` with every venue: grouped vs one process per venue.

    python bench/footprint.py            # 5 minutes per layout at 200 events/s, 50 SSE clients
    python bench/footprint.py --quick    # 60 s per layout (what `make bench` runs)

For each layout the whole system runs as users run it (`liqmon up --demo`, embedded Redis,
the simulator driving every venue), the rate is held with the simulator's `run` control and
50 SSE clients stay connected. At the end it prints the resident memory (RSS) of every
liqmon process except the simulator and Redis, their sum beside the per-venue layout's sum
(the in-run baseline), Redis's RSS separately, and the marginal cost of one
venue in the grouped process: (grouped RSS with all N venues − grouped RSS with 1 venue) /
(N − 1), measured in the same run. Budget (docs/PERFORMANCE.md): sum ≤ 400 MB, marginal
≤ 15 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._web_clients import clients_process  # (after the path insert)
from liqmon.embedded_redis import free_port
from liqmon.venues import VENUES

SSE_CLIENTS = 50
RATE = 200.0
EXCLUDED = ("exchange-sim", "redis")


def role(proc: psutil.Process) -> str:
    """`collectors`, `web`, … for `python -m liqmon run <role>`; `redis` for redis-server."""
    try:
        cmd = proc.cmdline()
    except psutil.Error:
        return "?"
    if cmd and "redis" in Path(cmd[0]).name:
        return "redis"
    if "run" in cmd:
        after = cmd[cmd.index("run") + 1 :]
        return after[0] if after else "?"
    return Path(cmd[0]).name if cmd else "?"


class System:
    """One `liqmon up --demo` in a temporary directory, torn down on exit."""

    def __init__(self, tmp: Path, venues: list[str], per_venue: bool) -> None:
        self.tmp = tmp
        self.web_port = free_port()
        self.sim_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
        env.pop("REDIS_URL", None)
        env.update(
            LIQMON_WEB_PORT=str(self.web_port),
            LIQMON_VENUES=",".join(venues),
            LIQMON_SIM_SCENARIO="quiet",
            LIQMON_SIM_PORTS=json.dumps({"okx": self.sim_port}),
            LIQMON_LOG_LEVEL="WARNING",
            LIQMON_WEB_MAX_SSE_PER_IP=str(SSE_CLIENTS),  # all clients come from 127.0.0.1
        )
        args = [sys.executable, "-m", "liqmon", "up", "--demo"]
        if per_venue:
            args.append("--collector-per-venue")
        self.log = (tmp / "up.log").open("wb")
        self.proc = subprocess.Popen(
            args, cwd=tmp, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.http = httpx.AsyncClient(timeout=10)

    async def wait_ok(self, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                body = (await self.http.get(f"http://127.0.0.1:{self.web_port}/api/health")).json()
                if body.get("status") == "ok":
                    return body
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)  # polling a port: no event to wait on
        raise RuntimeError(f"health never ok: {body.get('reasons')}; see {self.tmp}/up.log")

    async def drive(self, seconds: float) -> None:
        n = max(1, int(RATE * seconds))
        await self.http.post(
            f"http://127.0.0.1:{self.sim_port}/_sim/control",
            params={"action": "run", "n": n, "rate": RATE},
        )

    def rss_mb(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                name = role(child)
                out[name] = out.get(name, 0.0) + child.memory_info().rss / 2**20
            except psutil.Error:
                continue
        return out

    async def close(self) -> None:
        await self.http.aclose()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


async def measure(venues: list[str], per_venue: bool, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="liqmon-footprint-") as tmp:
        system = System(Path(tmp), venues, per_venue)
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        clients = None
        try:
            await system.wait_ok()
            await system.drive(seconds)  # clients count as ready once events flow
            clients = ctx.Process(
                target=clients_process,
                args=("127.0.0.1", system.web_port, SSE_CLIENTS, 0, child),
            )
            clients.start()
            loop = asyncio.get_running_loop()
            assert await loop.run_in_executor(None, parent.recv) == "ready"
            await asyncio.sleep(seconds)  # the measured period itself
            rss = system.rss_mb()
        finally:
            if clients is not None:
                parent.send("stop")
                parent.recv()
                clients.join(10)
            await system.close()
    liqmon = {k: v for k, v in rss.items() if k not in EXCLUDED}
    return {"rss": liqmon, "sum": sum(liqmon.values()), "redis_mb": rss.get("redis", 0.0)}


async def main_async(args: argparse.Namespace) -> None:
    seconds = 60.0 if args.quick else args.seconds
    everyone = [v.exchange for v in VENUES]
    print(f"# footprint: {len(everyone)} venues, {RATE:.0f} events/s, {SSE_CLIENTS} SSE clients,")
    print(f"# {seconds:.0f} s per layout; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    per_venue = await measure(everyone, per_venue=True, seconds=seconds)
    grouped = await measure(everyone, per_venue=False, seconds=seconds)
    one = await measure(everyone[:1], per_venue=False, seconds=min(seconds, 30.0))
    for name, result in (("per-venue processes", per_venue), ("grouped (default)", grouped)):
        parts = ", ".join(f"{k} {v:.1f}" for k, v in sorted(result["rss"].items()))
        print(f"{name:22s} liqmon RSS {result['sum']:7.1f} MB  ({parts})")
        print(f"{'':22s} redis RSS {result['redis_mb']:.1f} MB (not in the sum)")
    n = len(everyone)
    marginal = (grouped["rss"]["collectors"] - one["rss"]["collectors"]) / max(1, n - 1)
    print(
        f"grouped/per-venue ratio {grouped['sum'] / per_venue['sum']:.2f}; "
        f"grouped collectors process {grouped['rss']['collectors']:.1f} MB with {n} venues, "
        f"{one['rss']['collectors']:.1f} MB with 1: marginal {marginal:.1f} MB per venue"
    )
    print(f"budget: sum {grouped['sum']:.0f} MB (<= 400), marginal {marginal:.1f} MB (<= 15)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="60 s per layout")
    parser.add_argument("--seconds", type=float, default=300.0, help="measured period")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
