"""GET /api/liquidations: filters, cursor paging and bounded scans, against brute force."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from tests.web.conftest import Web
from tests.web.helpers import (
    live_server,
    make_event,
    now_ms,
    random_events,
    settings_for,
    xadd_at_ts,
    xadd_now,
)

N = 400


@pytest.fixture
async def tape(redis: Redis, keys: Keys) -> list[tuple[str, LiquidationEvent]]:
    start = now_ms() - 3_600_000
    events = random_events(N, start_ms=start, step_ms=9_000)
    ids = await xadd_at_ts(redis, keys, events)
    return list(zip(ids, events, strict=True))


def brute(
    tape: list[tuple[str, LiquidationEvent]],
    symbols: set[str] | None = None,
    exchanges: set[str] | None = None,
    side: str | None = None,
    min_cents: int = 0,
    since: int | None = None,
    until: int | None = None,
) -> list[str]:
    out = []
    for sid, ev in reversed(tape):
        if symbols and ev.symbol.upper() not in symbols:
            continue
        if exchanges and ev.exchange not in exchanges:
            continue
        if side and ev.side != side:
            continue
        if ev.usd_cents < min_cents:
            continue
        if since is not None and ev.ts < since:
            continue
        if until is not None and ev.ts > until:
            continue
        out.append(sid)
    return out


async def fetch_all(web: Web, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        resp = await web.client.get("/api/liquidations", params=q)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body["items"]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return items, pages
        assert pages < 500


async def test_unfiltered_pages_cover_the_stream_newest_first(web: Web, tape: Any) -> None:
    items, pages = await fetch_all(web, {"limit": 37})
    assert [i["stream_id"] for i in items] == brute(tape)
    assert pages == N // 37 + 1
    sid, ev = tape[-1]
    assert items[0] == ev.to_json_dict(sid)


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"symbol": "btc,Eth"}, {"symbols": {"BTC", "ETH"}}),
        ({"symbol": " sol "}, {"symbols": {"SOL"}}),
        ({"exchange": "okx"}, {"exchanges": {"okx"}}),
        ({"side": "short"}, {"side": "short"}),
        ({"min_usd": "250000.5"}, {"min_cents": 25_000_050}),
        ({"symbol": "DOGE", "side": "long", "exchange": "binance,okx"},
         {"symbols": {"DOGE"}, "side": "long", "exchanges": {"binance", "okx"}}),
    ],
)  # fmt: skip
async def test_filters_match_brute_force(
    web: Web, tape: Any, params: dict[str, Any], expect: dict[str, Any]
) -> None:
    items, _ = await fetch_all(web, {**params, "limit": 50})
    assert [i["stream_id"] for i in items] == brute(tape, **expect)
    assert items  # the fixture has matches for every case


async def test_since_until_select_on_event_time(web: Web, tape: Any) -> None:
    since = tape[100][1].ts
    until = tape[250][1].ts
    items, _ = await fetch_all(web, {"since": since, "until": until, "limit": 1000})
    assert [i["stream_id"] for i in items] == brute(tape, since=since, until=until)
    assert len(items) == 151


async def test_scan_cap_returns_short_pages_with_a_cursor(
    redis_url: str, redis: Redis, keys: Keys
) -> None:
    # One rare exchange among N entries, near the oldest end; a request may scan 100.
    events = random_events(N, start_ms=now_ms() - 3_600_000, step_ms=9_000)
    events[5] = make_event(exchange="bybit", ts=events[5].ts)
    await xadd_at_ts(redis, keys, events)
    async with (
        live_server(settings_for(redis_url, web_max_scan=100)) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        web = Web(server, client)
        first = (await client.get("/api/liquidations", params={"exchange": "bybit"})).json()
        assert first["items"] == [] and first["next"] is not None
        items, pages = await fetch_all(web, {"exchange": "bybit"})
    assert [i["exchange"] for i in items] == ["bybit"]
    assert pages >= N // 100


async def test_a_rare_coin_is_found_through_the_index_in_one_request(
    redis_url: str, redis: Redis, keys: Keys
) -> None:
    events = random_events(N, start_ms=now_ms() - 3_600_000, step_ms=9_000)
    events[5] = make_event(symbol="RARE", ts=events[5].ts)
    ids = await xadd_at_ts(redis, keys, events)
    async with (
        live_server(settings_for(redis_url, web_max_scan=100)) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        body = (await client.get("/api/liquidations", params={"symbol": "rare"})).json()
    assert [i["stream_id"] for i in body["items"]] == [ids[5]]
    assert body["next"] is None  # complete: the index reached the end of the range


@pytest.mark.parametrize("max_scan", [100, 10_000])
@pytest.mark.parametrize(
    "params",
    [
        {"symbol": "BTC,ETH,PEPE", "limit": 7},
        {"symbol": "DOGE,SOL", "side": "short", "limit": 5},
        {"symbol": "BTC,DOGE", "min_usd": "200000", "exchange": "okx", "limit": 3},
    ],
)
async def test_several_coins_merge_exactly_across_pages(
    redis_url: str, redis: Redis, keys: Keys, params: dict[str, Any], max_scan: int
) -> None:
    events = random_events(N, start_ms=now_ms() - 3_600_000, step_ms=9_000)
    tape = list(zip(await xadd_at_ts(redis, keys, events), events, strict=True))
    async with (
        live_server(settings_for(redis_url, web_max_scan=max_scan)) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        items, _ = await fetch_all(Web(server, client), params)
    expect = brute(
        tape,
        symbols=set(params["symbol"].split(",")),
        exchanges={params["exchange"]} if "exchange" in params else None,
        side=params.get("side"),
        min_cents=int(params.get("min_usd", 0)) * 100,
    )
    assert [i["stream_id"] for i in items] == expect
    assert expect


async def test_index_entries_whose_event_was_trimmed_are_skipped(
    web: Web, redis: Redis, keys: Keys
) -> None:
    events = [make_event(symbol="ADA", salt=i) for i in range(5)]
    ids = await xadd_now(redis, keys, events)
    await redis.xdel(keys.events, ids[1], ids[3])  # trimmed in `events`, not yet in the index
    body = (await web.client.get("/api/liquidations", params={"symbol": "ADA"})).json()
    assert [i["stream_id"] for i in body["items"]] == [ids[4], ids[2], ids[0]]
    assert body["next"] is None


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"side": "up"}, "side"),
        ({"exchange": "mexc"}, "exchange"),  # a venue liqmon does not collect
        ({"min_usd": "-1"}, "min_usd"),
        ({"min_usd": "nan"}, "min_usd"),
        ({"since": "-5"}, "since"),
        ({"since": 10, "until": 5}, "until"),
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "99999999999999999999999-0"}, "cursor"),
        ({"symbol": ",".join(f"S{i}" for i in range(101))}, "symbol"),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(
    web: Web, params: dict[str, Any], name: str
) -> None:
    resp = await web.client.get("/api/liquidations", params=params)
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert f"'{name}'" in body["error"]
    assert body["detail"]


async def test_empty_stream_and_cursor_at_start(web: Web) -> None:
    assert (await web.client.get("/api/liquidations")).json() == {"items": [], "next": None}
    resp = await web.client.get("/api/liquidations", params={"cursor": "0-0"})
    assert resp.json() == {"items": [], "next": None}


async def test_malformed_entries_are_skipped(web: Web, redis: Redis, keys: Keys) -> None:
    good = make_event()
    await redis.xadd(keys.events, {"v": "1", "junk": "x"})
    sid = await redis.xadd(keys.events, good.to_fields())  # type: ignore[arg-type]
    await redis.xadd(keys.events, {"v": "9"})
    body = (await web.client.get("/api/liquidations")).json()
    assert [i["stream_id"] for i in body["items"]] == [sid]


async def test_min_usd_is_an_exact_threshold(web: Web, redis: Redis, keys: Keys) -> None:
    # usd >= min_usd, no rounding: half-even cents would let $10,000.00 through 10000.005.
    cents = (999_999, 1_000_000, 1_000_001)
    await xadd_now(redis, keys, [make_event(usd_cents=c, salt=c) for c in cents])
    for min_usd, expect in (
        ("10000.005", [1_000_001]),
        ("10000.001", [1_000_001]),
        ("10000", [1_000_000, 1_000_001]),
        ("10000.00", [1_000_000, 1_000_001]),
        ("9999.995", [1_000_000, 1_000_001]),
        ("9999.99", list(cents)),
        ("1E+4", [1_000_000, 1_000_001]),
    ):
        resp = await web.client.get("/api/liquidations", params={"min_usd": min_usd})
        assert resp.status_code == 200, resp.text
        got = sorted(round(Decimal(str(i["usd"])) * 100) for i in resp.json()["items"])
        assert got == expect, min_usd


async def test_coins_match_case_insensitively_through_the_exact_index(
    web: Web, redis: Redis, keys: Keys
) -> None:
    # The index is keyed by the event's symbol exactly; venues' coins are upper case, and
    # an odd one (untrusted text) is found by its own spelling, as the coin view asks.
    odd, btc = make_event(symbol="wEird<b>", salt=1), make_event(symbol="BTC", salt=2)
    odd_id, btc_id = await xadd_now(redis, keys, [odd, btc])
    for query, expect in (("btc", [btc_id]), ("BTC", [btc_id]), ("wEird<b>", [odd_id]),
                          ("btc,wEird<b>", [btc_id, odd_id])):  # fmt: skip
        body = (await web.client.get("/api/liquidations", params={"symbol": query})).json()
        assert [i["stream_id"] for i in body["items"]] == expect, query
