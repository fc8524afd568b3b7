"""Cached instrument specs fetched over REST (Binance exchangeInfo, OKX instruments).

Some venues' liquidation quantities are contracts whose size only the REST API knows. A
`SpecCache` loads the specs at start, refreshes them periodically, and at once (rate-limited
by `min_gap`) when a frame names an instrument it does not know: new listings appear on
the feed before our next periodic refresh. Entries are merged, never dropped, so a delisted
instrument's late liquidation can still be valued. `version` grows on each successful load so
the hold queue knows when retrying held events is worth it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import httpx
import orjson

from liqmon.collector.timing import wait_any, wait_or_stop
from liqmon.logs import LogOnce

logger = logging.getLogger(__name__)
S = TypeVar("S")


class SpecFetchError(RuntimeError):
    pass


async def fetch_json(
    url: str, *, timeout: float = 10.0, loads: Callable[[str], Any] | None = None
) -> Any:
    """GET a JSON document (one short-lived client: spec refreshes are rare). `loads` parses
    the body instead of orjson (a venue that sends amounts as JSON numbers reads them with
    `liqmon.collector.exactjson.load_exact`; its ValueError becomes a SpecFetchError)."""
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if loads is not None:
                return loads(response.text)
            return orjson.loads(response.content)
    except (httpx.HTTPError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise SpecFetchError(f"GET {url}: {type(exc).__name__}: {exc}") from None


class SpecCache(Generic[S]):
    def __init__(
        self,
        name: str,
        fetch: Callable[[], Awaitable[dict[str, S]]],
        *,
        refresh_seconds: float = 3600.0,
        min_gap_seconds: float = 5.0,
    ) -> None:
        self.name = name
        self._fetch = fetch
        self._specs: dict[str, S] = {}
        self._refresh_seconds = refresh_seconds
        self._min_gap = min_gap_seconds
        self._wanted = asyncio.Event()
        self._last_attempt = -1e9
        self._log = LogOnce(logger)
        self.version = 0
        self.attempted = False  # a first load has been tried (whatever its outcome)
        self.last_error = ""
        self.changed = asyncio.Event()  # set after each successful load (the holder clears it)

    def get(self, key: str) -> S | None:
        return self._specs.get(key)

    def __len__(self) -> int:
        return len(self._specs)

    def request_refresh(self) -> None:
        """Ask for a load soon (an unknown instrument appeared)."""
        self._wanted.set()

    def load(self, specs: dict[str, S]) -> None:
        self._specs.update(specs)
        self.version += 1
        self.changed.set()

    async def refresh(self) -> bool:
        self._last_attempt = time.monotonic()
        try:
            specs = await self._fetch()
        except (SpecFetchError, ValueError, TypeError, KeyError) as exc:
            self.last_error = f"{self.name}: {exc}"
            self._log.warning(type(exc).__name__, "spec refresh %s failed: %s", self.name, exc)
            return False
        finally:
            self.attempted = True
        self.load(specs)
        logger.info("%s: %d instrument specs loaded", self.name, len(specs))
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Load now, then on request (at most every `min_gap`) and every `refresh_seconds`."""
        while not stop.is_set():
            self._wanted.clear()
            ok = await self.refresh()
            retry = max(self._min_gap * 2, 1.0)
            period = self._refresh_seconds if ok else min(self._refresh_seconds, retry)
            await wait_any(stop, self._wanted, timeout=period)
            if self._wanted.is_set() and not stop.is_set():
                await wait_or_stop(stop, self._last_attempt + self._min_gap - time.monotonic())
