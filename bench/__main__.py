"""`make bench` / `python -m bench`: run the short version of every benchmark in turn.

Each bench/<name>.py is a standalone script that prints its own figures beside a baseline
measured in the same run; this runner only starts them with `--quick` and bounds the time.
Pass names to run a subset: `python -m bench aggregator web`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUDGET_S = 9 * 60  # the whole run must stay under 10 minutes


def main(argv: list[str]) -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))
    if argv:
        scripts = [p for p in scripts if p.stem in argv]
    started = time.monotonic()
    failed = []
    for script in scripts:
        left = BUDGET_S - (time.monotonic() - started)
        if left <= 30:
            sys.stdout.write(f"\n### {script.stem}: skipped, time budget spent\n")
            continue
        sys.stdout.write(f"\n### {script.stem}\n")
        sys.stdout.flush()
        try:
            code = subprocess.run(
                [sys.executable, str(script), "--quick"], timeout=left, check=False
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
        if code != 0:
            failed.append(script.stem)
    spent = time.monotonic() - started
    sys.stdout.write(f"\nbench done in {spent:.0f}s; failed: {failed or 'none'}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
