"""The whole pipeline under load: simulator -> collectors -> Redis -> aggregator -> SSE.

    .venv/bin/python bench/e2e.py --quick              # soak 60 s + peak steps 15 s each
    .venv/bin/python bench/e2e.py --mode soak          # 30 min at 1,000/s, 200 SSE clients
    .venv/bin/python bench/e2e.py --mode peak          # rate steps, then 5 min at the best
    .venv/bin/python bench/e2e.py --mode crash --rate 15000 --seconds 300
                                                       # the `crash` scenario, every venue

Every service is `liqmon run <svc>` (the simulator too, scenario `quiet`, driven over
/_sim/control with finite runs at a fixed rate, Binance sampling off so every liquidation
is pushed) against a private redis-server with AOF everysec, as `liqmon up` runs it.

Soak: memory (RSS) of every process and Redis `used_memory` sampled every 5 s; the slope
after warm-up (first third dropped) by least squares, MB/min; aggregator lag and pending;
ERROR lines in every log; frame-to-tape latency. Redis grows by design (the stream keeps
48 h), so its figure is also given per event.
Peak: each step runs the rate for `--step-seconds`; it holds when the simulator emitted
>= 95% of the target and the pipeline's backlog (emitted - applied) at the end of the step
is under one second of the rate. Baseline in the same run: the simulator alone (the `max`
rate its clients take is printed by bench/sim_throughput.py; here: the emitted rate).
Crash: every venue's collector (one process each, as compose runs them; `--grouped`: one
process) against the simulator's `crash` scenario (every venue, BTC dominating, fat tails,
1 s bursts of 10x the mean every 20 s) scaled so its MEAN rate of liquidations is `--rate`
(the scenario keeps the sampled venues to a small share, so what they withhold is small;
it is counted as suppressed, never as emitted); every 5 s the emitted and applied counts
and the backlog; at the end asked vs emitted, the backlog's max and last, latency, and each
process's CPU time per event (what a loaded machine changes least) with Redis's per-command
cost per event.
Latency: a probe SSE client parses each event and takes now - event `ts` (the simulator
stamps `ts` when it builds the frame), i.e. exchange frame -> browser tape, p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from bench._web_clients import clients_process
from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon.keys import AGGREGATOR_GROUP, Keys
from liqmon.redis_client import create_redis
from liqmon.venues import VENUES
from liqmon_sim.scenarios import crash as crash_scenario
from liqmon_sim.scenarios import get_scenario
from liqmon_sim.venues.plugin import demo_environment, free_ports

SERVICES = ("exchange-sim", "aggregator", "web", "collector-binance", "collector-okx")


def crash_liquidations_per_s() -> float:
    """The crash scenario's mean liquidations per second at rate multiplier 1 (arrivals
    times the cluster's average size), before the sampled venues' rule."""
    return crash_scenario.MEAN_RATE * get_scenario("crash").per_arrival


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def slope_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) in value per minute."""
    if len(samples) < 3:
        return float("nan")
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


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
        env.update(item.split("=", 1) for item in args.env)  # an A/B of settings
        self.stack = Stack(tmp, env, services)
        self.sim = f"http://127.0.0.1:{self.sim_port}"
        self.http = httpx.AsyncClient(timeout=30)
        self.keys = Keys("liq")
        self.client_procs: list[tuple[Any, Any]] = []

    async def start(self, sse_clients: int) -> TapeProbe:
        self.redis_server.start()
        self.redis = create_redis(self.redis_server.url)
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

    async def applied(self) -> int:
        return int(await self.redis.hget(self.keys.agg_stats(1), "applied") or 0)

    async def lag(self) -> tuple[int, int]:
        for g in await self.redis.xinfo_groups(self.keys.events):
            if g["name"] == AGGREGATOR_GROUP:
                return int(g.get("lag") or 0), int(g["pending"])
        return 0, 0

    async def backlogs(self, t0: float, seconds: float) -> tuple[list[int], int]:
        """Every 5 s until `seconds` after `t0`: the backlog (emitted - applied); and how
        many polls the simulator left unanswered (it is saturated itself)."""
        backlogs, unanswered = [], 0
        while time.monotonic() - t0 < seconds:
            await asyncio.sleep(5)
            try:
                backlogs.append(await self.emitted() - await self.applied())
            except httpx.TimeoutException:
                unanswered += 1
        return backlogs, unanswered

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
        """User + system CPU seconds each process has used so far."""
        out = {}
        for name, pid in self.pids().items():
            try:
                times = psutil.Process(pid).cpu_times()
                out[name] = times.user + times.system
            except psutil.Error:
                out[name] = float("nan")
        return out

    def rss_mb(self) -> dict[str, float]:
        out = {}
        for name, proc in self.stack.procs.items():
            try:
                out[name] = psutil.Process(proc.pid).memory_info().rss / 2**20
            except psutil.Error:
                out[name] = float("nan")
        return out

    async def close(self) -> None:
        for p, pipe in self.client_procs:
            pipe.send("stop")
            pipe.recv()
            p.join(10)
        self.stack.stop()
        await self.redis.aclose()
        await self.http.aclose()
        self.redis_server.stop()


def machine() -> str:
    mem = psutil.virtual_memory().total / 2**30
    return f"{os.cpu_count()} CPUs, {mem:.1f} GiB RAM, python {sys.version.split()[0]}"


async def soak(pipe: Pipeline, args: argparse.Namespace) -> None:
    probe = await pipe.start(args.clients)
    rate, seconds = args.rate, args.seconds
    await pipe.run_at(rate, seconds)
    probe.recording = True
    started = time.monotonic()
    rss: dict[str, list[tuple[float, float]]] = {name: [] for name in SERVICES}
    redis_mem: list[tuple[float, float]] = []
    lags: list[int] = []
    while (t := time.monotonic() - started) < seconds:
        await asyncio.sleep(5)
        for name, mb in pipe.rss_mb().items():
            rss[name].append((t, mb))
        redis_mem.append((t, int((await pipe.redis.info("memory"))["used_memory"]) / 2**20))
        lags.append(sum(await pipe.lag()))
    emitted, applied = await pipe.emitted(), await pipe.applied()
    xlen = await pipe.redis.xlen(pipe.keys.events)
    print(f"soak: {rate:.0f}/s for {seconds:.0f} s, {args.clients} SSE clients + 1 probe; "
          f"{machine()}")  # fmt: skip
    print(f"  emitted {emitted}, applied {applied}, stream length {xlen}, "
          f"lag+pending max {max(lags)} median {statistics.median(lags):.0f}")  # fmt: skip
    print("  memory after warm-up (first third dropped): start MB -> end MB, slope MB/min")
    for name in SERVICES:
        tail = rss[name][len(rss[name]) // 3 :]
        print(f"    {name:18s} {tail[0][1]:7.1f} -> {tail[-1][1]:7.1f}  "
              f"{slope_per_min(tail):+7.2f}")  # fmt: skip
    tail = redis_mem[len(redis_mem) // 3 :]
    per_event = (tail[-1][1] - tail[0][1]) * 2**20 / max(1, rate * (tail[-1][0] - tail[0][0]))
    print(
        f"    {'redis used_memory':18s} {tail[0][1]:7.1f} -> {tail[-1][1]:7.1f}  "
        f"{slope_per_min(tail):+7.2f}  ({per_event:.0f} B per event: the stream keeps 48 h)"
    )
    lat = probe.latencies
    print(f"  frame -> tape latency over {len(lat)} events: p50 {pct(lat, 0.5):.1f} ms, "
          f"p99 {pct(lat, 0.99):.1f} ms")  # fmt: skip
    print(f"  ERROR lines logged: {pipe.stack.errors()}")


async def peak(pipe: Pipeline, args: argparse.Namespace) -> None:
    probe = await pipe.start(args.clients)
    print(f"peak: steps of {args.step_seconds:.0f} s, {args.clients} SSE clients; {machine()}")
    best = 0.0
    for rate in args.rates:
        e0, a0, t0 = await pipe.emitted(), await pipe.applied(), time.monotonic()
        probe.latencies.clear()
        probe.recording = True
        await pipe.run_at(rate, args.step_seconds)
        await asyncio.sleep(args.step_seconds)
        e1, a1 = await pipe.emitted(), await pipe.applied()
        took = time.monotonic() - t0
        lag, pending = await pipe.lag()
        backlog = e1 - a1
        sent_rate, applied_rate = (e1 - e0) / took, (a1 - a0) / took
        holds = sent_rate >= 0.95 * rate and backlog < rate
        best = rate if holds else best
        lat = probe.latencies
        print(f"  target {rate:6.0f}/s: emitted {sent_rate:6.0f}/s applied {applied_rate:6.0f}/s "
              f"backlog {backlog:6d} (lag {lag}, pending {pending}) tape p50 {pct(lat, .5):6.1f} "
              f"p99 {pct(lat, .99):7.1f} ms -> {'holds' if holds else 'FALLS BEHIND'}")  # fmt: skip
        # let the backlog drain before the next step
        deadline = time.monotonic() + 60
        while await pipe.applied() < await pipe.emitted() and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        if not holds:
            break
    print(f"  highest rate held: {best:.0f}/s")
    if args.confirm_seconds and best:
        e0, t0 = await pipe.emitted(), time.monotonic()
        await pipe.run_at(best, args.confirm_seconds)
        lags, unanswered = await pipe.backlogs(t0, args.confirm_seconds)
        if not lags:
            print(f"  confirm {best:.0f}/s: the simulator never answered its stats (saturated)")
            return
        print(f"  confirm {best:.0f}/s for {args.confirm_seconds:.0f} s: "
              f"{(await pipe.emitted() - e0) / (time.monotonic() - t0):.0f}/s emitted, "
              f"backlog max {max(lags)} last {lags[-1]}, {unanswered} unanswered")  # fmt: skip
    print(f"  ERROR lines logged: {pipe.stack.errors()}")


async def crash(pipe: Pipeline, args: argparse.Namespace) -> None:
    probe = await pipe.start(args.clients)
    layout = "one collectors process" if args.grouped else "one process per venue"
    print(f"crash: scenario `crash`, mean {args.rate:.0f}/s (1 s bursts of 10x the mean "
          f"every 20 s), {len(VENUES)} venues ({layout}), {args.clients} SSE clients, "
          f"{args.seconds:.0f} s; {machine()}; load {os.getloadavg()[0]:.1f}")  # fmt: skip
    e0, a0, t0 = await pipe.emitted(), await pipe.applied(), time.monotonic()
    cpu0 = pipe.cpu_seconds()
    await pipe.redis.config_resetstat()
    probe.recording = True
    backlogs, unanswered = await pipe.backlogs(t0, args.seconds)
    e1, a1, took = await pipe.emitted(), await pipe.applied(), time.monotonic() - t0
    cpu1 = pipe.cpu_seconds()
    lat = probe.latencies
    print(
        f"  asked {args.rate:7.0f}/s  emitted {(e1 - e0) / took:7.0f}/s "
        f"({(e1 - e0) / took / args.rate:.0%} of asked)  load {os.getloadavg()[0]:.1f} at end"
    )
    print(f"  emitted {(e1 - e0) / took:7.0f}/s  applied {(a1 - a0) / took:7.0f}/s  "
          f"backlog max {max(backlogs, default=0)} last {backlogs[-1] if backlogs else 0} "
          f"({unanswered} stats unanswered)")  # fmt: skip
    print(f"  frame -> tape latency over {len(lat)} events: p50 {pct(lat, 0.5):.1f} ms, "
          f"p99 {pct(lat, 0.99):.1f} ms")  # fmt: skip
    servers = (await pipe.http.get(f"{pipe.sim}/_sim/stats")).json()["venues"].values()
    print("  simulator since start (what was generated but not emitted): " + ", ".join(
        f"{k} {sum(int(v.get(k, 0)) for v in servers)}"
        for k in ("liquidations_emitted", "suppressed", "undelivered", "slow_client_drops")
    ))  # fmt: skip
    print(f"  RSS MB: {', '.join(f'{k} {v:.0f}' for k, v in sorted(pipe.rss_mb().items()))}")
    print_cpu(cpu0, cpu1, e1 - e0, a1 - a0, took)
    stats = await pipe.redis.info("commandstats")
    costly = sorted(stats.items(), key=lambda kv: -kv[1]["usec"])[:6]
    print("  redis: " + ", ".join(
        f"{k.removeprefix('cmdstat_')} {v['calls'] / max(1, a1 - a0):.3f} calls "
        f"{v['usec'] / max(1, a1 - a0):.1f} us per event" for k, v in costly
    ))  # fmt: skip
    print(f"  ERROR lines logged: {pipe.stack.errors()}")
    print("\n".join(pipe.stack.first_errors()))


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


async def main_async(args: argparse.Namespace) -> None:
    modes = ["soak", "peak"] if args.mode == "both" else [args.mode]
    for mode in modes:
        with run_directory(args.keep_logs) as tmp:
            pipe = Pipeline(args, tmp)
            try:
                if mode == "soak":
                    await soak(pipe, args)
                elif mode == "crash":
                    await crash(pipe, args)
                else:
                    await peak(pipe, args)
            finally:
                await pipe.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short soak and peak (~2.5 min)")
    parser.add_argument("--mode", choices=["soak", "peak", "both", "crash"], default="both")
    parser.add_argument("--keep-logs", metavar="DIR", help="keep each run's logs under DIR")
    parser.add_argument(
        "--log-level", default="WARNING", help="the services' (INFO: e.g. append batching)"
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for every service (repeatable), e.g. LIQMON_COLLECTOR_LINGER_MS=100",
    )  # fmt: skip
    parser.add_argument("--grouped", action="store_true", help="crash: one collectors process")
    parser.add_argument("--rate", type=float, default=1000.0, help="soak rate /s")
    parser.add_argument("--seconds", type=float, default=1800.0, help="soak duration")
    parser.add_argument("--clients", type=int, default=200, help="SSE clients")
    parser.add_argument("--rates", default="2000,4000,6000,8000,10000,12000,14000,16000")
    parser.add_argument("--step-seconds", type=float, default=60.0)
    parser.add_argument("--confirm-seconds", type=float, default=300.0)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.clients, args.step_seconds, args.confirm_seconds = 45, 50, 12, 0
        args.rates = "3000,6000,9000,12000"
    args.rates = [float(r) for r in args.rates.split(",")]
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
