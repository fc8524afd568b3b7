"""What several benchmarks share: the synthetic market, the frames/s measurement and the
`--env` option for an A/B of settings.

Import it as `bench._common` after putting the repository root on `sys.path` (the
scripts run as `python bench/<name>.py`, which puts only `bench/` there).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from liqmon.event import PRODUCTS, LiquidationEvent

#: 200 coins with Zipf-like popularity (coin i weighs 1/(i+1)): a few coins dominate, as
#: in real markets; pass both to `random.choices`.
SYMBOLS = [f"C{i:03d}" for i in range(200)]
WEIGHTS = [1 / (i + 1) for i in range(200)]


def linear_event(exchange: str, **fields: Any) -> LiquidationEvent:
    """A linear-contract liquidation on `exchange`'s first product at its average fill
    price; `fields` are the rest of the event (each bench draws its own values)."""
    return LiquidationEvent(
        exchange=exchange,
        product=PRODUCTS[exchange][0],
        margin="linear",
        price_kind="avg_fill",
        **fields,
    )


def frames_per_second(
    frames: Sequence[str], new_parse: Callable[[], Callable[[str], object]]
) -> float:
    """Median of 3 runs of `parse` over every frame, in frames per second. `new_parse()`
    gives each run its parse function: a fresh parser where the parser keeps state."""
    runs = []
    for _ in range(3):
        parse = new_parse()
        started = time.perf_counter()
        for raw in frames:
            parse(raw)
        runs.append(len(frames) / (time.perf_counter() - started))
    return statistics.median(runs)


def add_env_option(parser: argparse.ArgumentParser, applies_to: str) -> None:
    """`--env NAME=VALUE` (repeatable): a setting for the services a bench starts, for an
    A/B of settings (the benches start them without the caller's own LIQMON_ variables)."""
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE",
        help=f"a setting for {applies_to} (repeatable), e.g. LIQMON_AGGREGATOR_LINGER_MS=0",
    )  # fmt: skip


def env_settings(args: argparse.Namespace) -> dict[str, str]:
    """The `--env` settings as a dict."""
    return dict(item.split("=", 1) for item in args.env)
