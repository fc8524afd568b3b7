"""Parser benchmark for the venues whose liquidations hide in their trade feeds.

    .venv/bin/python bench/trade_feeds.py [--quick]

dYdX (`v4_trades`) and Kraken Futures (`trade`) send every trade of every subscribed
market; only a few are liquidations, so what the collector spends on ordinary trades is what
limits it. Bitfinex's `liq:global` carries liquidations only. For each venue this prints
frames/s of its parser on ordinary-trade frames and on liquidation frames, beside an in-run
baseline on the same frames: `orjson.loads` alone (what any collector must at least do).
Each figure is the median of 3 runs. No I/O: the parser alone, one core.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from functools import partial
from pathlib import Path

import orjson

from liqmon.collector.frames import FrameParser
from liqmon_bitfinex.parser import StatusParser
from liqmon_dydx.parser import TradesParser
from liqmon_kraken.parser import KrakenInstrument, TradeParser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import frames_per_second  # (after the path insert)

TS = 1_791_547_200_000


def dydx_frame(i: int, kind: str) -> str:
    trades = [
        {"id": f"{i:024x}", "size": f"0.{i % 997 + 1:04d}", "price": f"{82000 + i % 50}.5",
         "side": "SELL" if i % 2 else "BUY", "createdAt": "2026-10-09T12:00:00.500Z", "type": kind}
    ]  # fmt: skip
    return orjson.dumps(
        {"type": "channel_data", "connection_id": "c", "message_id": i, "id": "BTC-USD",
         "channel": "v4_trades", "version": "2.1.0", "contents": {"trades": trades}}
    ).decode()  # fmt: skip


def kraken_frame(i: int, kind: str) -> str:
    return (
        f'{{"feed":"trade","product_id":"PF_XBTUSD","uid":"{i:032x}","side":"sell",'
        f'"type":"{kind}","seq":{i},"time":{TS + i},"qty":0.{i % 997 + 1:04d},'
        f'"price":{82000 + i % 50}.5}}'
    )


def bitfinex_frame(i: int, is_match: int) -> str:
    return (
        f'[386841,[["pos",{143_000_000 + i},{TS + i},null,"tBTCF0:USTF0",0.{i % 997 + 1:04d},'
        f"{82000 + i % 50}.5,null,{is_match},1,null,82100]],{i},{TS + i}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 5_000 if parser.parse_args().quick else 50_000
    specs = {"PF_XBTUSD": KrakenInstrument("PF_XBTUSD", "flexible_futures", Decimal(1), True)}
    cases: list[tuple[str, FrameParser, list[str]]] = [
        ("dydx ordinary", TradesParser(), [dydx_frame(i, "LIMIT") for i in range(n)]),
        ("dydx liquidation", TradesParser(), [dydx_frame(i, "LIQUIDATED") for i in range(n)]),
        ("kraken ordinary", TradeParser(specs), [kraken_frame(i, "fill") for i in range(n)]),
        ("kraken liquidation", TradeParser(specs),
         [kraken_frame(i, "liquidation") for i in range(n)]),
        ("bitfinex match", StatusParser(), [bitfinex_frame(i, 1) for i in range(n)]),
        ("bitfinex trigger", StatusParser(), [bitfinex_frame(i, 0) for i in range(n)]),
    ]  # fmt: skip
    print(f"{'frames':<20} {'parser /s':>12} {'orjson.loads /s':>16} {'ratio':>7}")
    for name, venue_parser, frames in cases:
        ours = frames_per_second(frames, lambda p=venue_parser: partial(p.parse_frame, recv_ts=TS))
        base = frames_per_second(frames, lambda: orjson.loads)
        print(f"{name:<20} {ours:>12,.0f} {base:>16,.0f} {ours / base:>7.2f}")


if __name__ == "__main__":
    main()
