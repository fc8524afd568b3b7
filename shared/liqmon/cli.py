"""The `liqmon` command line: one entry point for every service.

    liqmon run <service>   run one service in the foreground (what docker-compose runs)
    liqmon run collector-a collector-b …
                           several venues' collectors in one process (also: `run collectors`)
    liqmon up [--demo]     the whole system, supervised (embedded Redis without REDIS_URL)
    liqmon rebuild         recompute all derived state from the event stream
    liqmon alerts test     send one test message through every alert channel

Services are found through import strings (as uvicorn registers its protocols): the
collectors come from the venue registry (`liqmon.venues`), so adding a venue adds nothing
here.
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
from liqmon.venues import VENUES, from_service

SERVICES: dict[str, str] = {
    **{v.service: f"{v.main_module}:main" for v in VENUES},
    "collectors": "liqmon.collector.group:main",
    "aggregator": "liqmon_aggregator.main:main",
    "web": "liqmon_web.main:main",
    "exchange-sim": "liqmon_sim.main:main",
    "alerter": "liqmon_alerter.main:main",
}
REBUILD = "liqmon_aggregator.rebuild:main"
ALERTS = "liqmon_alerter.testcmd:main"


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
    up.add_argument(
        "--collector-per-venue",
        action="store_true",
        help="one collector process per venue (default: every venue in one process)",
    )
    rebuild = sub.add_parser("rebuild", help="recompute derived state from the stream")
    rebuild.add_argument("args", nargs=argparse.REMAINDER)
    alerts = sub.add_parser("alerts", help="alert tools: `liqmon alerts test`")
    alerts.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        more = list(args.args)
        if from_service(args.service) and more and all(from_service(a) for a in more):
            return _load(SERVICES["collectors"])([args.service, *more])
        return _load(SERVICES[args.service])(more)
    if args.command == "rebuild":
        return _load(REBUILD)(list(args.args))
    if args.command == "alerts":
        return _load(ALERTS)(list(args.args))
    configure_logging("up")
    from liqmon.launcher import up

    return asyncio.run(
        up(demo=args.demo, var_dir=args.var.resolve(), per_venue=args.collector_per_venue)
    )


if __name__ == "__main__":
    sys.exit(main())
