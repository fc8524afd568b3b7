"""The host's clock in ms, for what a host stamps itself (a frame's `recv_ts`, a dead
letter's `ts`, a status hash). Windows, trims and dedup horizons use Redis `TIME` instead
(`liqmon.scripts.server_ms`), so that every process agrees."""

from __future__ import annotations

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
