"""The whole pipeline as bench/e2e.py runs it: the services as child processes against a
private redis-server (AOF everysec, as `liqmon up` runs it), a probe SSE client timing
frame -> tape, SSE client processes, and each process's CPU per event.

Shared by bench/e2e.py (soak, peak, crash), bench/sim_crash.py (`Stack`) and
bench/collector_replay.py (`crash_liquidations_per_s`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import env_settings
from bench._web_clients import clients_process
from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon.keys import AGGREGATOR_GROUP, Keys
from liqmon.redis_client import create_redis
from liqmon.venues import VENUES
from liqmon_sim.scenarios import crash as crash_scenario
from liqmon_sim.scenarios import get_scenario
from liqmon_sim.venues.plugin import demo_environment, free_ports

SERVICES = ("exchange-sim", "aggregator", "web", "collector-binance", "collector-okx")
#: The raw pipelined XADD rate on the machine the crash-day targets were set on
#: (docs/PERFORMANCE.md, "Per-part benchmarks": 35,425/s, bench/aggregator.py's baseline),
#: where the crash target asks 15,000 events/s: the pipeline's rate over this baseline is
#: comparable across machines that differ twofold in speed, an absolute rate is not.
TARGETS_MACHINE_XADD = 35_425
CRASH_TARGET_RATE = 15_000
#: What `make bench` asks of the crash scenario: its sampled venues' rule withholds about
#: 4% of the liquidations that happen (633/s of 16,000 on session 10's machine), so
#: 16,000 asked puts at least CRASH_TARGET_RATE events per second on the wire.
CRASH_ASKED_RATE = 16_000


def crash_liquidations_per_s() -> float:
    """The crash scenario's mean liquidations per second at rate multiplier 1 (arrivals
    times the cluster's average size), before the sampled venues' rule."""
    return crash_scenario.MEAN_RATE * get_scenario("crash").per_arrival


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class TapeProbe(asyncio.Protocol):
    """One SSE client that parses every event: now - event ts (frame -> tape), in ms."""

    def __init__(self) -> None:
        self.rest = b""
        self.latencies: list[float] = []
        self.recording = False

    def connection_made(self, transport: Any) -> None:
        transport.write(b"GET /api/stream HTTP/1.1\r\nHost: bench\r\n\r\n")

    def data_received(self, chunk: bytes) -> None:
        now = time.time_ns() / 1e6
        data = self.rest + chunk
        cut = data.rfind(b"\n")
        self.rest = data[cut + 1 :]
        if not self.recording:
            return
        # the event's `"ts":` digits, found, not parsed with the whole event: the probe runs
        # on the same two cores as what it measures (a JSON string cannot hold `"ts":`
        # unescaped, and `recv_ts` is preceded by `_`, not a quote)
        for line in data[:cut].split(b"\n"):
            if line.startswith(b'data: {"stream_id"'):
                at = line.index(b'"ts":') + 5
                self.latencies.append(now - int(line[at : line.index(b",", at)]))


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    services: tuple[str, ...] = SERVICES
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self) -> None:
        for name in self.services:
            log = (self.tmp / f"{name}.log").open("wb")
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "liqmon", "run", name],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def error_lines(self) -> dict[str, list[str]]:
        out = {}
        for name in self.services:
            text = (self.tmp / f"{name}.log").read_text(errors="replace")
            out[name] = [line for line in text.splitlines() if " ERROR " in line]
        return out

    def errors(self) -> dict[str, int]:
        return {name: len(lines) for name, lines in self.error_lines().items()}

    def first_errors(self, per_service: int = 2) -> list[str]:
        """The first ERROR lines of each log (the logs go with the temporary directory)."""
        return [
            f"    {name}: {line[:300]}"
            for name, lines in self.error_lines().items()
            for line in lines[:per_service]
        ]


class Pipeline:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.redis_server = EmbeddedRedis(tmp / "redis", appendfsync="everysec")
        self.sim_port = free_port()
        self.web_port = free_port()
        ports = {**free_ports(), "okx": self.sim_port}
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
        crash = args.mode == "crash"
        services: tuple[str, ...] = SERVICES
        if crash:
            collectors = ["collectors"] if args.grouped else [v.service for v in VENUES]
            services = ("exchange-sim", "aggregator", "web", *collectors)
            env.update(
                LIQMON_SIM_SCENARIO="crash",
                LIQMON_SIM_RATE_MULTIPLIER=str(args.rate / crash_liquidations_per_s()),
            )
        else:
            env.update(LIQMON_SIM_SCENARIO="quiet", LIQMON_SIM_BINANCE_SAMPLING_MS="0")
        env.update(
            REDIS_URL=self.redis_server.url, LIQMON_LOG_LEVEL=args.log_level,
            LIQMON_SIM_LEDGER_MAX_ENTRIES="10000", LIQMON_SIM_BINANCE_MAX_MSGS_PER_S="0",
            **demo_environment("127.0.0.1", ports),
            LIQMON_WEB_PORT=str(self.web_port),
            LIQMON_WEB_MAX_SSE_CLIENTS="5000", LIQMON_WEB_MAX_SSE_PER_IP="5000",
        )  # fmt: skip
        env.update(env_settings(args))  # an A/B of settings
        self.stack = Stack(tmp, env, services)
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        self.http = httpx.AsyncClient(timeout=30)
        self.keys = Keys("liq")
        self.client_procs: list[tuple[Any, Any]] = []
        self.machine_xadd: list[float] = []  # the machine baseline's rounds (crash only)
        #: which of `backlogs`' polls found Redis rewriting its AOF
        self.rewriting_at: list[int] = []

    async def start(self, sse_clients: int) -> TapeProbe:
        self.redis_server.start()
        self.redis = create_redis(self.redis_server.url)
        if self.args.mode == "crash":
            self.machine_xadd = await machine_baseline(self.redis)
        self.stack.start()
        deadline = time.monotonic() + 40
        while True:
            try:
                stats = (await self.http.get(f"{self.sim}/_sim/stats")).json()
                await self.http.get(f"http://127.0.0.1:{self.web_port}/api/health")
                wanted = (
                    stats["venues"]
                    if self.args.mode == "crash"
                    else ("binance-usdm", "binance-coinm", "okx")
                )
                if all(stats["venues"][k]["ready"].get(k) for k in wanted):
                    break
            except (httpx.TransportError, ValueError):  # not listening / not answering yet
                pass
            assert time.monotonic() < deadline, self.stack.errors()
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)
        loop = asyncio.get_running_loop()
        if sse_clients:
            parent, child = mp.get_context("spawn").Pipe()
            p = mp.get_context("spawn").Process(
                target=clients_process, args=("127.0.0.1", self.web_port, sse_clients, 0, child)
            )
            p.start()
            self.client_procs.append((p, parent))
            assert await loop.run_in_executor(None, parent.recv) == "ready"
        _, probe = await loop.create_connection(TapeProbe, "127.0.0.1", self.web_port)
        return probe

    async def emitted(self) -> int:
        return int((await self.http.get(f"{self.sim}/_sim/totals")).json()["count"])

    async def main_run(self) -> tuple[dict[str, Any], int]:
        """The simulator's main run (its counts and where it is on its schedule) and what
        the sampled venues' rule has withheld so far, every venue: one reading."""
        stats = (await self.http.get(f"{self.sim}/_sim/stats")).json()
        assert stats["main_run"] is not None, "the simulator has no main run"
        run: dict[str, Any] = stats["runs"][str(stats["main_run"])]
        return run, sum(int(n) for n in stats["ledger"]["suppressed"].values())

    async def until_phase(self, period: float, phase: float) -> None:
        """Wait until the main run's schedule is at `phase` seconds into a `period` (t =
        k * period + phase with t >= period: past the scenario's ramp), as the simulator's
        clock has it."""
        elapsed = (await self.main_run())[0]["elapsed_s"]
        assert elapsed is not None, "the simulator's main run has not started its pump"
        k = max(1, math.ceil((elapsed - phase) / period))
        await asyncio.sleep(k * period + phase - elapsed)

    async def applied(self) -> int:
        return int(await self.redis.hget(self.keys.agg_stats(1), "applied") or 0)

    async def lag(self) -> tuple[int, int]:
        for g in await self.redis.xinfo_groups(self.keys.events):
            if g["name"] == AGGREGATOR_GROUP:
                return int(g.get("lag") or 0), int(g["pending"])
        return 0, 0

    async def backlogs(self, t0: float, seconds: float) -> tuple[list[int], int]:
        """Every 5 s until exactly `seconds` after `t0`: the backlog (emitted - applied); and how
        many polls the simulator left unanswered (it is saturated itself)."""
        backlogs, unanswered = [], 0
        self.rewriting_at = []
        while (left := seconds - (time.monotonic() - t0)) > 0:
            await asyncio.sleep(min(5.0, left))  # the last poll ends the window on time
            try:
                backlogs.append(await self.emitted() - await self.applied())
            except httpx.TimeoutException:
                unanswered += 1
                continue
            persistence = await self.redis.info("persistence")
            if persistence.get("aof_rewrite_in_progress"):
                self.rewriting_at.append(len(backlogs) - 1)
        return backlogs, unanswered

    async def aof_rewrites(self) -> tuple[int, int]:
        """Redis's AOF rewrites so far (it rewrites each time the file doubles: a fork,
        and a child writing the whole data set on the same cores) and its latest fork's
        time in µs."""
        persistence, stats = await self.redis.info("persistence"), await self.redis.info("stats")
        return int(persistence.get("aof_rewrites", 0)), int(stats.get("latest_fork_usec", 0))

    async def run_at(self, rate: float, seconds: float) -> None:
        n = max(1, int(rate * seconds))
        await self.http.post(
            f"{self.sim}/_sim/control", params={"action": "run", "n": n, "rate": rate}
        )

    def pids(self) -> dict[str, int]:
        """Every process of the pipeline by name (services, redis-server, SSE clients)."""
        out = {name: proc.pid for name, proc in self.stack.procs.items()}
        out["redis-server"] = self.redis_server.process.pid
        for i, (client, _) in enumerate(self.client_procs):
            out[f"sse-clients{i or ''}"] = client.pid
        out["bench (probe)"] = os.getpid()  # the probe, the polls: on the same cores
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU seconds each process has used so far; for Redis also its AOF
        rewrite children's ("redis AOF rewrites")."""
        out = {}
        for name, pid in self.pids().items():
            try:
                times = psutil.Process(pid).cpu_times()
                out[name] = times.user + times.system
            except psutil.Error:
                out[name] = float("nan")
                continue
            if name == "redis-server":
                # its AOF rewrites run in forked children, counted once Redis reaps them
                out["redis AOF rewrites"] = times.children_user + times.children_system
        return out

    def rss_mb(self) -> dict[str, float]:
        out = {}
        for name, proc in self.stack.procs.items():
            try:
                out[name] = psutil.Process(proc.pid).memory_info().rss / 2**20
            except psutil.Error:
                out[name] = float("nan")
        return out

    async def stop_services(self) -> None:
        """Stop the SSE client processes and the services (Redis keeps running)."""
        for p, pipe in self.client_procs:
            pipe.send("stop")
            pipe.recv()
            p.join(10)
        self.client_procs.clear()
        self.stack.stop()

    async def close(self) -> None:
        await self.stop_services()
        await self.redis.aclose()
        await self.http.aclose()
        self.redis_server.stop()


async def machine_baseline(redis: Any, rounds: int = 3, n: int = 20_000) -> list[float]:
    """Target 1's baseline as a measure of the machine: the raw pipelined XADD rate of
    crash-like entries (bench/aggregator.py's, from this process) on the pipeline's own
    Redis while no service runs, `rounds` times; the scratch key is deleted after."""
    from bench.aggregator import make_events, xadd_all  # (its imports are the aggregator's)

    entries = make_events(n, time.time_ns() // 1_000_000, seed=11, live=True)
    rates = []
    for _ in range(rounds):
        rates.append(await xadd_all(redis, "bench:machine-xadd", entries))
        await redis.delete("bench:machine-xadd")
    return rates


def print_machine_ratio(before: list[float], after: list[float], applied_per_s: float) -> None:
    """The applied rate beside the machine baseline (the median of its rounds before the
    services started and after they stopped: a machine's speed drifts over a run), and both
    beside the targets' machine."""
    xadd = statistics.median(before + after)
    target_ratio = CRASH_TARGET_RATE / TARGETS_MACHINE_XADD

    def rounds(rates: list[float]) -> str:
        return " / ".join(f"{r:,.0f}" for r in rates)

    print(
        f"  machine baseline: raw pipelined XADD {xadd:,.0f}/s (before the services started"
        f" [{rounds(before)}], after they stopped [{rounds(after)}]; the targets' machine: "
        f"{TARGETS_MACHINE_XADD:,}/s); applied / baseline {applied_per_s / xadd:.2f} (the target,"
        f" {CRASH_TARGET_RATE:,}/s there: {target_ratio:.2f}); at the targets' machine's speed"
        f" {applied_per_s * TARGETS_MACHINE_XADD / xadd:,.0f}/s (scaled linearly: an estimate)"
    )


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} CPUs, {mem:.1f} GiB RAM, python {sys.version.split()[0]}"


def print_cpu(
    before: dict[str, float], after: dict[str, float], emitted: int, applied: int, took: float
) -> None:
    """CPU per event by process: what each costs, independent of how loaded the machine is,
    and the cores the whole pipeline needs per 10,000 events/s. The simulator and the
    collectors handle what was emitted, the rest what was applied (they differ while a
    backlog grows)."""
    used = {name: after[name] - before.get(name, 0.0) for name in after}
    per_event = {
        name: 1e6 * sec / max(1, emitted if "sim" in name or "collector" in name else applied)
        for name, sec in used.items()
    }
    venues = {k.removeprefix("collector-"): v for k, v in per_event.items() if "collector" in k}
    print(f"  CPU per event (us), {emitted} emitted, {applied} applied in {took:.0f} s; cores:")
    for name, us in sorted(per_event.items(), key=lambda kv: -kv[1]):
        if "collector" not in name:
            print(f"    {name:18s} {us:6.1f} us  {used[name] / took:4.2f} cores")
    cores = sum(v for k, v in used.items() if "collector" in k) / took
    each = ", ".join(f"{k} {v:.0f}" for k, v in venues.items())
    label = "collectors (sum)"
    print(f"    {label:18s} {sum(venues.values()):6.1f} us  {cores:4.2f} cores ({each})")
    total = sum(per_event.values())
    print(f"    {'total':18s} {total:6.1f} us  -> {total * 1e4 / 1e6:.2f} cores per 10,000/s")


@contextlib.contextmanager
def run_directory(keep_under: str | None) -> Iterator[Path]:
    """A temporary directory for one run's Redis and logs; kept under `keep_under` if given."""
    if keep_under:
        Path(keep_under).mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(dir=keep_under))
        print(f"  logs: {path}")
        yield path
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)
