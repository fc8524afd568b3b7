"""Checking the side convention against Gate's public liquidation history.

`GET <rest>/api/v4/futures/usdt/liq_orders?contract=C&from=S&to=E&limit=1000` (public; at
most 3600 s per query) returns rows like (doc example)

    {"time":1548654951,"contract":"BTC_USDT","size":"600","order_size":"-600",
     "order_price":"3405","fill_price":"3424","left":"0"}

with `time` in seconds, `size` the liquidated position (positive = long) and `order_size`
the signed liquidation order that closed it. Each check takes the oldest waiting samples
of up to `contracts_per_check` contracts, asks the history for their time span, and votes
with every sample that matches exactly one row sign (same contract, second ±1, order price
equal to the pushed price). A sample still unmatched after `max_attempts` checks is given
up (counted: the history may not list every pushed liquidation).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode

from liqmon.clock import now_ms
from liqmon.collector.exactjson import load_exact, positive_number, signed_number
from liqmon.collector.instruments import SpecFetchError, fetch_json
from liqmon.logs import LogOnce
from liqmon_gate.side import Sample, SideConvention

logger = logging.getLogger(__name__)
LIQ_ORDERS: Final = "/api/v4/futures/usdt/liq_orders"
#: The history's time has one-second resolution and may round either way.
SLACK_S: Final = 1

Fetch = Callable[[str], Awaitable[Any]]


async def fetch_exact(url: str) -> Any:
    return await fetch_json(url, loads=load_exact)


def order_signs(rows: Any, sample: Sample) -> set[int]:
    """The signs of `order_size` (or, lacking it, of `-size`) of the rows matching a sample."""
    if not isinstance(rows, list):
        raise ValueError(f"liq_orders: expected an array, got {str(rows)[:200]}")
    second = sample.ts // 1000
    signs: set[int] = set()
    for row in rows:
        if not isinstance(row, dict) or row.get("contract") != sample.contract:
            continue
        try:
            t = row.get("time")
            if isinstance(t, str) and t.isascii() and t.isdigit():
                t = int(t)  # documented as a number; a string would be read the same
            if isinstance(t, bool) or not isinstance(t, int) or abs(t - second) > SLACK_S:
                continue
            if positive_number(row.get("order_price"), "order_price") != sample.price:
                continue
            if row.get("order_size") not in (None, 0, "0"):
                order = signed_number(row.get("order_size"), "order_size")
            else:
                order = -signed_number(row.get("size"), "size")
        except ValueError:
            continue
        signs.add(-1 if order < 0 else 1)
    return signs


class SideCheck:
    def __init__(
        self,
        convention: SideConvention,
        rest_url: str,
        *,
        delay_ms: int = 5_000,
        contracts_per_check: int = 5,
        fetch: Fetch = fetch_exact,
    ) -> None:
        self.convention = convention
        self._base = rest_url.rstrip("/") + LIQ_ORDERS
        self._delay_ms = delay_ms
        self._per_check = contracts_per_check
        self._fetch = fetch
        self._log = LogOnce(logger)
        self.requests = 0

    async def check_once(self) -> None:
        by_contract: dict[str, list[Sample]] = {}
        for sample in self.convention.pending(now_ms() - self._delay_ms):
            if sample.contract in by_contract or len(by_contract) < self._per_check:
                by_contract.setdefault(sample.contract, []).append(sample)
        for contract, samples in by_contract.items():
            seconds = [s.ts // 1000 for s in samples]
            start, end = min(seconds) - SLACK_S, max(seconds) + SLACK_S
            if end - start > 3600:  # the history answers at most an hour per query
                samples = [s for s in samples if s.ts // 1000 - SLACK_S < start + 3600]
                end = start + 3600
            query = {"contract": contract, "from": start, "to": end, "limit": 1000}
            self.requests += 1
            try:
                rows = await self._fetch(f"{self._base}?{urlencode(query)}")
                self._vote(rows, samples)
            except (SpecFetchError, ValueError) as exc:
                self._log.warning(type(exc).__name__, "gate liq_orders lookup failed: %s", exc)

    def _vote(self, rows: Any, samples: list[Sample]) -> None:
        for sample in samples:
            signs = order_signs(rows, sample)
            if len(signs) == 1:
                self.convention.vote(sample, Decimal(signs.pop()), now_ms())
                continue
            sample.attempts += 1  # no row yet, or rows of both signs: no vote
            if sample.attempts >= self.convention.max_attempts:
                self.convention.give_up(sample)
