"""`make bench` / `python -m bench`: the performance issue's six figures, short form.

Each bench/<name>.py is a standalone script that prints its own figures beside a baseline
measured in the same run; this runner starts the short version of the six that carry the
issue's targets, one after the other, echoes everything they print, and ends with a digest
of the lines that hold the figures (each beside its baseline), so the whole answer fits on
one screen. The run is bounded (`BUDGET_S`); a bench that does not fit is reported skipped.

    python -m bench                  # the six figures (< 10 minutes)
    python -m bench web tape_index   # a subset of them, by script name
    python -m bench --all            # every bench/<name>.py --quick, in name order
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from bench._pipeline import CRASH_ASKED_RATE, CRASH_TARGET_RATE

HERE = Path(__file__).resolve().parent
BUDGET_S = 9 * 60  # the whole run must stay under 10 minutes


class Figure(NamedTuple):
    """One issue figure: the script, its short-form arguments, and the start of each
    printed line (stripped) that holds the figure or its baseline."""

    title: str
    script: str
    args: tuple[str, ...]
    lines: tuple[str, ...]


FIGURES = (
    Figure(
        "1. aggregator: live apply rate vs raw pipelined XADD (ratio)",
        "aggregator",
        ("--quick", "--live-only"),
        ("live, median of 3", "(Redis server time"),
    ),
    Figure(
        f"2. pipeline on a crash day: every venue, scenario `crash`, {CRASH_ASKED_RATE:,}/s asked"
        f" (for >= {CRASH_TARGET_RATE:,}/s on the wire), two burst periods (40 s), the collectors"
        " in one process as `liqmon up` runs them",
        "e2e",
        ("--quick", "--mode", "crash", "--grouped", "--rate", str(CRASH_ASKED_RATE)),
        (
            "crash:",
            "asked",
            "emitted",
            "sustained",
            "backlog every",
            "frame -> tape latency",
            "machine baseline",
            "total",
            "ERROR lines",
        ),
    ),
    Figure(
        "3. totals freshness at 1,000 events/s (push vs the old 1 Hz tick)",
        "summary_freshness",
        ("--quick",),
        (
            "event -> applied p99",
            "event -> summary p50",
            "event -> summary p99",
            "event -> card p50",
            "event -> card p99",
            "event -> summary-applied p99",
            "event -> card-page p99",
            "browser CPU, cores",
            "browser CPU, no DevTools",
        ),
    ),
    Figure(
        "4. Redis memory per event, 100k events over 48 h (stream vs windows)",
        "memory",
        ("--quick",),
        ("used_memory growth", "baseline, the entries'", "=> stream share"),
    ),
    Figure(
        "5. filtered tape: a rare coin's page (index vs stream scan)",
        "tape_index",
        ("--quick",),
        ("floor", "index", "scan"),
    ),
    Figure(
        "6. web: SSE fan-out latency, /api/summary p99 at 500 requests/s",
        "web",
        ("--quick",),
        (
            "web process idle",
            "delivered",
            "latency XADD->client",
            "web process",
            "redis PING",
            "404 same app",
            "/api/summary",
        ),
    ),
)


def run(script: str, args: tuple[str, ...], timeout: float) -> tuple[int, list[str]]:
    """Run bench/<script>.py, echoing its output as it comes; (exit code, lines)."""
    lines: list[str] = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, str(HERE / f"{script}.py"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    ) as proc:  # fmt: skip
        deadline = time.monotonic() + timeout
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line.rstrip("\n"))
            if time.monotonic() > deadline:
                proc.kill()
                return -1, lines
        try:
            return proc.wait(max(1.0, deadline - time.monotonic())), lines
        except subprocess.TimeoutExpired:
            proc.kill()
            return -1, lines


def main(argv: list[str]) -> int:
    every = "--all" in argv
    names = [a for a in argv if not a.startswith("-")]
    if every:
        scripts = sorted(p.stem for p in HERE.glob("*.py") if not p.name.startswith("_"))
        plan = [Figure(s, s, ("--quick",), ()) for s in scripts if not names or s in names]
    else:
        plan = [f for f in FIGURES if not names or f.script in names]
    load = os.getloadavg()
    sys.stdout.write(f"load average at start: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}\n")
    started = time.monotonic()
    failed: list[str] = []
    digest: list[str] = []
    for figure in plan:
        left = BUDGET_S - (time.monotonic() - started)
        if left <= 30:
            sys.stdout.write(f"\n### {figure.script}: skipped, time budget spent\n")
            digest.append(f"{figure.title}\n  skipped: time budget spent")
            continue
        sys.stdout.write(f"\n### {figure.script} {' '.join(figure.args)}\n")
        sys.stdout.flush()
        began = time.monotonic()
        code, lines = run(figure.script, figure.args, left)
        if code != 0:
            failed.append(figure.script)
        picked = [ln.strip() for ln in lines if ln.strip().startswith(figure.lines)]
        status = "" if code == 0 else f" (exit {code})"
        digest.append(
            f"{figure.title} [{time.monotonic() - began:.0f} s{status}]\n"
            + "\n".join(f"  {ln}" for ln in picked or ["(no figure printed)"])
        )
    spent = time.monotonic() - started
    if not every:
        load = os.getloadavg()
        sys.stdout.write(
            f"\n=== the issue's figures (load average now {load[0]:.1f} {load[1]:.1f} "
            f"{load[2]:.1f}; each beside its in-run baseline) ===\n"
        )
        sys.stdout.write("\n".join(digest) + "\n")
    sys.stdout.write(f"\nbench done in {spent:.0f}s; failed: {failed or 'none'}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
