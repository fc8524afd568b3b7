"""The whole pipeline under load: simulator -> collectors -> Redis -> aggregator -> SSE.

    .venv/bin/python bench/e2e.py --quick              # soak 60 s + peak steps 15 s each
    .venv/bin/python bench/e2e.py --mode soak          # 30 min at 1,000/s, 200 SSE clients
    .venv/bin/python bench/e2e.py --mode peak          # rate steps, then 5 min at the best
    .venv/bin/python bench/e2e.py --mode crash --grouped --rate 16000 --seconds 300
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
it is counted as suppressed, never as emitted). The window is whole burst periods on the
simulator's clock (`--seconds` rounded to them), each end just before a burst
(`EDGE_BEFORE_BURST_S`): the mean over it is the asked rate, and each end sits where the
last burst has had 18 s to drain. Every 5 s the emitted and applied counts and the
backlog; at the end asked vs generated vs emitted (and what the sampled venues' rule
withheld), the backlog's max and last, how far the simulator is behind its own schedule at
each end (a pump that cannot meet a burst owes it afterwards), "sustained" (applied >= 98%
of emitted and the simulator within 1 s of its schedule at the end) and the applied rate
against the target's, the backlog every 5 s with Redis's AOF rewrites marked, latency, and
each process's CPU time per event (what a loaded machine changes least; Redis's AOF
rewrite children apart) with Redis's per-command cost per event.
Latency: a probe SSE client parses each event and takes now - event `ts` (the simulator
stamps `ts` when it builds the frame), i.e. exchange frame -> browser tape, p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import add_env_option
from bench._pipeline import (
    CRASH_TARGET_RATE,
    SERVICES,
    Pipeline,
    machine,
    machine_baseline,
    pct,
    print_cpu,
    print_machine_ratio,
    run_directory,
)
from liqmon.venues import VENUES
from liqmon_sim.scenarios import crash as crash_scenario

#: Each end of the crash window lies this long before a burst: the readings there (a few
#: HTTP and Redis round trips) fall in the quiet phase, 18 s after the last burst ended.
EDGE_BEFORE_BURST_S = 1.0
#: "sustained": at least this share of what was emitted applied over the window, and the
#: simulator no more than this far behind its schedule at its end.
SUSTAINED_APPLIED_SHARE = 0.98
SUSTAINED_BEHIND_S = 1.0


def slope_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) in value per minute."""
    if len(samples) < 3:
        return float("nan")
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


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
    # whole burst periods, each end just before a burst: the mean over them is the asked
    # rate, and the backlog a burst leaves is alike at both ends (a window cut at a random
    # phase held 2 bursts in 45 s, or ended inside a burst's catch-up)
    period = crash_scenario.BURST_EVERY_S
    periods = max(1, math.floor(args.seconds / period + 0.5))
    seconds = periods * period
    print(f"crash: scenario `crash`, mean {args.rate:.0f}/s ({crash_scenario.BURST_S:.0f} s "
          f"bursts of {crash_scenario.BURST_OVER_MEAN:.0f}x the mean every {period:.0f} s), "
          f"{len(VENUES)} venues ({layout}), {args.clients} SSE clients, {seconds:.0f} s "
          f"({periods} whole burst periods); {machine()}; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    await pipe.until_phase(period, period - EDGE_BEFORE_BURST_S)
    run0, sup0 = await pipe.main_run()
    e0, a0, t0 = await pipe.emitted(), await pipe.applied(), time.monotonic()
    cpu0 = pipe.cpu_seconds()
    await pipe.redis.config_resetstat()  # (it zeroes the AOF rewrite count too)
    rewrites0, _ = await pipe.aof_rewrites()
    probe.recording = True
    backlogs, unanswered = await pipe.backlogs(t0, seconds)
    e1, a1, took = await pipe.emitted(), await pipe.applied(), time.monotonic() - t0
    run1, sup1 = await pipe.main_run()
    rewrites1, fork_us = await pipe.aof_rewrites()
    cpu1 = pipe.cpu_seconds()
    lat = probe.latencies
    # the simulator's counts over its own clock's span between the two readings
    generated = (run1["generated"] - run0["generated"]) / (run1["elapsed_s"] - run0["elapsed_s"])
    print(
        f"  asked {args.rate:7.0f}/s  generated {generated:7.0f}/s"
        f"  emitted {(e1 - e0) / took:7.0f}/s ({(e1 - e0) / took / args.rate:.0%} of asked; the"
        f" sampled venues' rule withheld {(sup1 - sup0) / took:.0f}/s)  load"
        f" {os.getloadavg()[0]:.1f} at end"
    )
    print(f"  emitted {(e1 - e0) / took:7.0f}/s  applied {(a1 - a0) / took:7.0f}/s  "
          f"backlog max {max(backlogs, default=0)} last {backlogs[-1] if backlogs else 0} "
          f"({unanswered} stats unanswered); the simulator behind its schedule by "
          f"{run0['behind_s']:.2f} s at the start, {run1['behind_s']:.2f} s at the end"
          )  # fmt: skip
    # sustained: what was asked was generated (the simulator kept its schedule) and what
    # was emitted was applied (a backlog a burst leaves is drained, it does not pile up
    # from period to period); each end of the window lies just before a burst, where both
    # are easiest to meet, so a shortfall there is a real one
    share = (a1 - a0) / max(1, e1 - e0)
    kept = share >= SUSTAINED_APPLIED_SHARE and run1["behind_s"] <= SUSTAINED_BEHIND_S
    applied_rate = (a1 - a0) / took
    print(f"  sustained: {'yes' if kept else 'NO'} (applied {share:.1%} of emitted, >= "
          f"{SUSTAINED_APPLIED_SHARE:.0%} asked; the simulator {run1['behind_s']:.2f} s behind "
          f"its schedule at the end, <= {SUSTAINED_BEHIND_S:.0f} s asked); applied "
          f"{applied_rate:,.0f}/s against the target's {CRASH_TARGET_RATE:,}/s: "
          f"{'at or above' if applied_rate >= CRASH_TARGET_RATE else 'BELOW'}")  # fmt: skip
    series = " ".join(
        f"{b / 1000:.1f}k{'(R)' if i in pipe.rewriting_at else ''}" for i, b in enumerate(backlogs)
    )
    print(f"  backlog every 5 s: {series}; Redis AOF rewrites in the window: "
          f"{rewrites1 - rewrites0} ((R): one in progress), latest fork "
          f"{fork_us / 1000:.0f} ms")  # fmt: skip
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
    await pipe.stop_services()  # the baseline again, on the machine the run leaves behind
    after = await machine_baseline(pipe.redis)
    print_machine_ratio(pipe.machine_xadd, after, (a1 - a0) / took)
    print(f"  ERROR lines logged: {pipe.stack.errors()}")
    print("\n".join(pipe.stack.first_errors()))


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
    add_env_option(parser, "every service")
    parser.add_argument("--grouped", action="store_true", help="crash: one collectors process")
    parser.add_argument("--rate", type=float, default=1000.0, help="soak rate /s")
    parser.add_argument(
        "--seconds", type=float, default=1800.0,
        help="soak duration; crash: the window, rounded to whole burst periods",
    )  # fmt: skip
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
