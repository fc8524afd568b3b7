"""Named request dependencies: the app's shared objects and the validated query filters.

Routes declare what they need as types (`RedisDep`, `FilterDep`, ...) and stay thin. The
shared objects live on `app.state` (built by the lifespan in app.py), never in module
globals, so several apps (tests) can live in one process.

Every dependency is an `async def`, though none awaits anything: FastAPI runs a plain
`def` dependency in its thread pool, so a request to /api/liquidations made five thread
round trips (each a wake-up that waits for a core on a busy machine) before any work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Request
from redis.asyncio import Redis

from liqmon.event import MAX_TS_MS, PRODUCTS
from liqmon.keys import Keys
from liqmon_web.broadcaster import Broadcaster
from liqmon_web.errors import ParamError
from liqmon_web.filters import LATE_ARRIVAL_MS, EventFilter
from liqmon_web.settings import WebSettings
from liqmon_web.snapshots import SummaryCache
from liqmon_web.stream_ids import StreamId, parse_stream_id
from liqmon_web.summary_feed import SummaryFeed

MAX_SYMBOLS = 100
MAX_USD = 100_000_000_000


def _app_state(name: str) -> Callable[[Request], Awaitable[object]]:
    """A dependency that returns `request.app.state.<name>`; the `Annotated` alias below
    gives it its type (what the lifespan in app.py stored there)."""

    async def from_app_state(request: Request) -> object:
        return getattr(request.app.state, name)

    from_app_state.__name__ = f"app_state_{name}"
    return from_app_state


async def client_ip(request: Request) -> str:
    """The client address (the proxy's X-Forwarded-For when proxy headers are trusted)."""
    return request.client.host if request.client else "unknown"


RedisDep = Annotated[Redis, Depends(_app_state("redis"))]
KeysDep = Annotated[Keys, Depends(_app_state("keys"))]
SettingsDep = Annotated[WebSettings, Depends(_app_state("settings"))]
BroadcasterDep = Annotated[Broadcaster, Depends(_app_state("broadcaster"))]
SummaryCacheDep = Annotated[SummaryCache, Depends(_app_state("summary_cache"))]
SummaryFeedDep = Annotated[SummaryFeed, Depends(_app_state("summary_feed"))]
ClientIpDep = Annotated[str, Depends(client_ip)]

TimeMs = Annotated[int, Query(ge=0, le=MAX_TS_MS, description="epoch milliseconds")]


def parse_symbols(text: str | None, param: str = "symbol") -> frozenset[str]:
    """`"btc, ETH"` -> {"btc", "ETH"}: the names as typed (stripped); matching upper-cases
    them (`EventFilter.symbols`), the per-coin index is looked up under both spellings."""
    if not text:
        return frozenset()
    names = [part.strip() for part in text.split(",")]
    names = [n for n in names if n]
    if len(names) > MAX_SYMBOLS:
        raise ParamError(param, f"at most {MAX_SYMBOLS} symbols")
    if any(len(n) > 64 for n in names):
        raise ParamError(param, "a symbol is at most 64 characters")
    return frozenset(names)


def parse_exchanges(text: str | None, param: str = "exchange") -> frozenset[str]:
    if not text:
        return frozenset()
    names = frozenset(p.strip().lower() for p in text.split(",") if p.strip())
    unknown = sorted(names - PRODUCTS.keys())
    if unknown:
        raise ParamError(param, f"unknown exchange {unknown[0]!r:.40}; known: {sorted(PRODUCTS)}")
    return names


SINCE_DOC = "epoch ms: only events whose event time `ts` (when the exchange liquidated) is >= since"
UNTIL_DOC = (
    "epoch ms: only events whose event time `ts` is <= until. The scan is bounded by arrival "
    "time: an event that reached the server more than "
    f"{LATE_ARRIVAL_MS // 60_000} minutes after `until` (a very late exchange report) "
    "is not returned by a query with `until`."
)


def min_usd_cents(min_usd: Decimal) -> int:
    """The smallest whole number of cents that is >= `min_usd`: an event passes iff its
    usd >= min_usd, exactly (no rounding lets $10,000.00 through `min_usd=10000.005`)."""
    return int((min_usd * 100).to_integral_value(rounding=ROUND_CEILING))


async def event_filter(
    symbol: Annotated[
        str | None,
        Query(max_length=2000, description="comma list of coins, case-insensitive: BTC,ETH"),
    ] = None,
    exchange: Annotated[
        str | None,
        Query(
            max_length=200,
            description="comma list of exchanges (GET /api/venues)",
        ),
    ] = None,
    side: Annotated[
        Literal["long", "short"] | None, Query(description="long or short liquidations")
    ] = None,
    min_usd: Annotated[
        Decimal | None,
        Query(
            ge=0,
            le=MAX_USD,
            description="only liquidations of at least this many USD (exact: usd >= min_usd)",
        ),
    ] = None,
    since: Annotated[int | None, Query(ge=0, le=MAX_TS_MS, description=SINCE_DOC)] = None,
    until: Annotated[int | None, Query(ge=0, le=MAX_TS_MS, description=UNTIL_DOC)] = None,
) -> EventFilter:
    if since is not None and until is not None and since > until:
        raise ParamError("until", "must not be before since")
    try:
        min_cents = min_usd_cents(min_usd) if min_usd is not None else 0
    except InvalidOperation:
        raise ParamError("min_usd", "not a usable amount") from None
    typed = parse_symbols(symbol)
    return EventFilter(
        symbols=frozenset(n.upper() for n in typed),
        symbol_spellings=typed | frozenset(n.upper() for n in typed),
        exchanges=parse_exchanges(exchange),
        side=side,
        min_cents=min_cents,
        since=since,
        until=until,
    )


FilterDep = Annotated[EventFilter, Depends(event_filter)]


def stream_id_param(text: str | None, param: str, where: str = "query") -> StreamId | None:
    if text is None or text == "":
        return None
    sid = parse_stream_id(text)
    if sid is None:
        raise ParamError(param, "must be a stream id like 1732780000123-0", where)
    return sid


async def cursor_param(
    cursor: Annotated[
        str | None,
        Query(max_length=64, description="`next` from the previous page (a stream id)"),
    ] = None,
) -> StreamId | None:
    return stream_id_param(cursor, "cursor")


CursorDep = Annotated[StreamId | None, Depends(cursor_param)]


async def resume_param(
    last_event_id: Annotated[
        str | None,
        Header(max_length=64, description="sent by EventSource on reconnect"),
    ] = None,
    last_event_id_query: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            max_length=64,
            description="the same, for clients that cannot set headers",
        ),
    ] = None,
) -> StreamId | None:
    if last_event_id:
        return stream_id_param(last_event_id, "Last-Event-ID", "header")
    return stream_id_param(last_event_id_query, "last_event_id")


ResumeDep = Annotated[StreamId | None, Depends(resume_param)]
