"""The `liqmon` command line: one entry point for every service.

    liqmon run <service>   run one service in the foreground (what docker-compose runs)
    liqmon up [--demo]     the whole system, supervised (embedded Redis without REDIS_URL)
    liqmon rebuild         recompute all derived state from the event stream

Services are found through a registry of import strings (as uvicorn registers its
protocols), so adding a venue is one new package plus one line here.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from liqmon import __version__
from liqmon.logs import configure_logging

SERVICES: dict[str, str] = {
    "collector-binance": "liqmon_binance.main:main",
    "collector-okx": "liqmon_okx.main:main",
    "collector-bybit": "liqmon_bybit.main:main",
    "collector-dydx": "liqmon_dydx.main:main",
    "collector-kraken": "liqmon_kraken.main:main",
    "collector-bitfinex": "liqmon_bitfinex.main:main",
    "aggregator": "liqmon_aggregator.main:main",
    "web": "liqmon_web.main:main",
    "exchange-sim": "liqmon_sim.main:main",
}
REBUILD = "liqmon_aggregator.rebuild:main"


def _load(target: str) -> Callable[[list[str]], int]:
    module_name, _, attr = target.partition(":")
    func: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), attr)
    return func


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="liqmon", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=f"liqmon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one service in the foreground")
    run.add_argument("service", choices=sorted(SERVICES))
    run.add_argument("args", nargs=argparse.REMAINDER, help="passed to the service")
    up = sub.add_parser("up", help="run the whole system")
    up.add_argument("--demo", action="store_true", help="also run the exchange simulator")
    up.add_argument("--var", type=Path, default=Path("var"), help="data directory (./var)")
    rebuild = sub.add_parser("rebuild", help="recompute derived state from the stream")
    rebuild.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return _load(SERVICES[args.service])(list(args.args))
    if args.command == "rebuild":
        return _load(REBUILD)(list(args.args))
    configure_logging("up")
    from liqmon.launcher import up

    return asyncio.run(up(demo=args.demo, var_dir=args.var.resolve()))


if __name__ == "__main__":
    sys.exit(main())
