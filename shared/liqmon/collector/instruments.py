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
import ssl
import time
from collections.abc import Awaitable, Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx
import orjson

from liqmon.collector.timing import wait_any, wait_or_stop
from liqmon.logs import LogOnce

if TYPE_CHECKING:
    from liqmon.collector.settings import CollectorSettings

logger = logging.getLogger(__name__)
S = TypeVar("S")


class SpecFetchError(RuntimeError):
    pass


@cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS settings, built once per process: building them loads the whole CA
    bundle (milliseconds of CPU), and Gate's side check fetches every few seconds."""
    return httpx.create_ssl_context()


async def fetch_json(
    url: str, *, timeout: float = 10.0, loads: Callable[[str], Any] | None = None
) -> Any:
    """GET a JSON document (one short-lived client: spec refreshes are rare; its TLS context
    is the process's one, `tls_context`). `loads` parses the body instead of orjson (a venue
    that sends amounts as JSON numbers reads them with `liqmon.collector.exactjson.load_exact`;
    its ValueError becomes a SpecFetchError)."""
    try:
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=True, verify=tls_context()
        ) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            if loads is not None:
                return loads(response.text)
            return orjson.loads(response.content)
    except (httpx.HTTPError, ValueError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise SpecFetchError(f"GET {url}: {type(exc).__name__}: {exc}") from None


def listed_objects(doc: Any, what: str, rows: object, ok: bool = True) -> list[dict[str, Any]]:
    """The objects among a listing response's `rows` (other entries are skipped); a
    ValueError naming `what` if the response is not `ok` or `rows` is not an array."""
    if not ok or not isinstance(rows, list):
        raise ValueError(f"{what}: unexpected response {str(doc)[:200]}")
    return [entry for entry in rows if isinstance(entry, dict)]


def specs_by_name(
    rows: list[Any], name: str, parse: Callable[[dict[str, Any]], S | None]
) -> dict[str, S]:
    """A listing's objects -> specs by their `name` field: objects without a name of 1-64
    characters, or that `parse` finds unusable (None), are skipped."""
    out: dict[str, S] = {}
    for entry in rows:
        key = entry.get(name) if isinstance(entry, dict) else None
        if isinstance(key, str) and 0 < len(key) <= 64 and isinstance(entry, dict):
            spec = parse(entry)
            if spec is not None:
                out[key] = spec
    return out


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

    @classmethod
    def of_collector(
        cls,
        name: str,
        fetch: Callable[[], Awaitable[dict[str, S]]],
        settings: CollectorSettings,
        refresh_seconds: float | None = None,
    ) -> SpecCache[S]:
        """A cache on the collector's spec knobs; `refresh_seconds` for a venue whose listing
        has its own reload period (Bybit, dYdX, Kraken: they follow it)."""
        if refresh_seconds is None:
            refresh_seconds = settings.collector_spec_refresh_seconds
        return cls(
            name,
            fetch,
            refresh_seconds=refresh_seconds,
            min_gap_seconds=settings.collector_spec_min_gap_seconds,
        )

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
