"""BitMEX and Deribit parsers: frames/s, beside plain JSON decoding of the same frames.

    .venv/bin/python bench/venue_parsers.py [--quick]

Both venues send prices and sizes as JSON numbers, which liqmon reads as exact decimals
(`json.loads(parse_float=Decimal)`), slower than `orjson`. The table shows what that costs
per frame: each parser's frames/s beside `orjson.loads` and `json.loads(parse_float=Decimal)`
of the same frames (the floor any exact reader pays), medians of 3 runs, in this process.

- BitMEX: the recorded lifecycle shape - an insert, two shrinking updates, a growing update,
  a delete per order (the parser keeps its order state).
- Deribit: 100 ms batches of 5 trades; "ordinary" batches carry no liquidation (the parser
  only classifies them), "liquidation" batches carry one `T`, `M` or `MT` trade each.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path

import orjson

from liqmon_bitmex.parser import BitmexInstrument, LiquidationParser
from liqmon_deribit.parser import DeribitInstrument, TradesParser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import frames_per_second  # (after the path insert)

RECV = 1_800_000_000_000


def bitmex_frames(orders: int) -> list[str]:
    out = []
    for i in range(orders):
        oid = f"{i:08x}-0000-4000-8000-000000000000"
        row = {"orderID": oid, "symbol": "XBTUSD"}
        out += [
            {**row, "side": "Sell" if i % 2 else "Buy", "price": 88000.5 + i, "leavesQty": 900},
            {**row, "leavesQty": 700}, {**row, "leavesQty": 500},
            {**row, "price": 87990.5, "leavesQty": 1400}, row,
        ]  # fmt: skip
    actions = ["insert", "update", "update", "update", "delete"]
    return [
        orjson.dumps({"table": "liquidation", "action": actions[n % 5], "data": [r]}).decode()
        for n, r in enumerate(out)
    ]


def deribit_frames(n: int, liquidations: bool) -> list[str]:
    out = []
    for i in range(n):
        trades = [
            {"trade_seq": i * 5 + k, "trade_id": f"{i * 5 + k}", "timestamp": RECV + i,
             "tick_direction": 0, "price": 80000.5 + k, "mark_price": 80001.2,
             "index_price": 80000.9, "instrument_name": "BTC-PERPETUAL",
             "direction": "sell" if k % 2 else "buy", "amount": 10 * (k + 1)}
            for k in range(5)
        ]  # fmt: skip
        if liquidations:
            trades[0]["liquidation"] = ("T", "M", "MT")[i % 3]
        out.append(orjson.dumps({"jsonrpc": "2.0", "method": "subscription", "params": {
            "channel": "trades.future.BTC.100ms", "data": trades}}).decode())  # fmt: skip
    return out


def exact_json(raw: str) -> object:
    return json.loads(raw, parse_float=Decimal)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames")
    n = 4_000 if parser.parse_args(argv).quick else 40_000
    specs = {"XBTUSD": BitmexInstrument("inverse", "XBT", "USD", Decimal(-100_000_000), None)}
    deribit_specs = {"BTC-PERPETUAL": DeribitInstrument("inverse", "BTC")}
    cases: list[tuple[str, list[str], Callable[[], Callable[[str, int], object]]]] = [
        ("bitmex lifecycle", bitmex_frames(n // 5),
         lambda: LiquidationParser(specs).parse_frame),
        ("deribit ordinary", deribit_frames(n, False),
         lambda: TradesParser(deribit_specs).parse_frame),
        ("deribit liquidation", deribit_frames(n, True),
         lambda: TradesParser(deribit_specs).parse_frame),
    ]  # fmt: skip
    sys.stdout.write(f"{'frames':<22}{'orjson':>12}{'json+Decimal':>14}{'parser':>12}  frames/s\n")
    for name, frames, make in cases:
        fast = frames_per_second(frames, lambda: orjson.loads)
        slow = frames_per_second(frames, lambda: exact_json)
        # a fresh parser per run: BitMEX's order state must see each insert first
        ours = frames_per_second(frames, lambda make=make: partial(make(), recv_ts=RECV))
        sys.stdout.write(f"{name:<22}{fast:>12,.0f}{slow:>14,.0f}{ours:>12,.0f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
