"""The read API: tape, summary, one coin, per-minute series."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from liqmon import views
from liqmon_web.deps import (
    CursorDep,
    FilterDep,
    KeysDep,
    RedisDep,
    SettingsDep,
    SummaryCacheDep,
    TimeMs,
    parse_exchanges,
)
from liqmon_web.errors import ParamError
from liqmon_web.models import ERRORS, LiquidationsPage, SeriesPoint, Summary, SymbolView
from liqmon_web.routes import json_response, raw_json_response
from liqmon_web.tape import read_tape

router = APIRouter(prefix="/api", tags=["data"], responses=ERRORS)

DEFAULT_SERIES_MS = 3_600_000


@router.get("/liquidations", responses={200: {"model": LiquidationsPage}})
async def liquidations(
    redis: RedisDep,
    keys: KeysDep,
    settings: SettingsDep,
    flt: FilterDep,
    cursor: CursorDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="items per page")] = 100,
) -> Response:
    """Liquidations newest first, read from the event stream (the whole retention period).

    With `symbol`, the coins' own index is read (every match to the end of retention, at
    the cost of the coin's events only). Otherwise the stream is scanned. Either way a
    request reads at most `LIQMON_WEB_MAX_SCAN` entries (10,000 by default): with a rare
    filter a page may hold fewer than `limit` items, even none, and still have a `next`
    cursor. Follow `next` until it is null.

    Each liquidation is listed once: the stream carries each event `id` once
    (docs/EVENTS.md). `since`/`until` select on the event time `ts`.
    """
    items, nxt = await read_tape(
        redis, keys, flt, limit=limit, cursor=cursor, max_scan=settings.web_max_scan
    )
    return json_response({"items": items, "next": nxt})


@router.get("/summary", responses={200: {"model": Summary}})
async def summary(
    cache: SummaryCacheDep,
    top: Annotated[int, Query(ge=1, le=100, description="coins per ranking")] = 10,
) -> Response:
    """Totals per window (3m … 1d), split by exchange, top coins, the largest event.

    Reflects an event as soon as the aggregator has applied it (one poll of its change
    counter plus at most one push spacing, 20 ms by default); between changes every
    request gets the same cached bytes.
    """
    return raw_json_response(await cache.get(top))


@router.get("/symbols/{symbol}", responses={200: {"model": SymbolView}})
async def symbol(
    redis: RedisDep,
    keys: KeysDep,
    symbol: Annotated[str, Path(min_length=1, max_length=64, description="coin, e.g. BTC")],
) -> Response:
    """Per-window long/short totals, counts and average liquidation price of one coin."""
    return json_response(await views.read_symbol(redis, keys, symbol.strip().upper()))


@router.get("/series", responses={200: {"model": list[SeriesPoint]}})
async def series(
    redis: RedisDep,
    keys: KeysDep,
    settings: SettingsDep,
    symbol: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    exchange: Annotated[str | None, Query(max_length=32, description="one exchange")] = None,
    since: TimeMs | None = None,
    until: TimeMs | None = None,
) -> Response:
    """Long vs short USD per minute. Default: the last hour; at most
    `LIQMON_WEB_MAX_SERIES_HOURS` (48) per request."""
    now = time.time_ns() // 1_000_000
    end = until if until is not None else now
    start = since if since is not None else end - DEFAULT_SERIES_MS
    if start > end:
        raise ParamError("since", "must not be after until")
    span = settings.web_max_series_hours * 3_600_000
    if end - start > span:
        raise ParamError("since", f"range longer than {settings.web_max_series_hours} h")
    venues = parse_exchanges(exchange)
    if len(venues) > 1:
        raise ParamError("exchange", "one exchange (or none for all)")
    points = await views.read_series(
        redis,
        keys,
        symbol=symbol.strip().upper() if symbol else None,
        exchange=next(iter(venues), None),
        since_ms=start,
        until_ms=end,
    )
    return json_response(points)
