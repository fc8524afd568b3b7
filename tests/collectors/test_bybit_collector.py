"""The Bybit collector in-process against a real loopback venue and the test Redis: listing
pagination, chunked subscriptions over several connections, heartbeat, new listings and
delistings while running, reconnect + gap, refusals and malformed frames."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

from liqmon.clock import now_ms
from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon_bybit.settings import BybitSettings
from liqmon_bybit.venue import BybitVenue
from tests.collectors.bybit_loopback import (
    INVERSE,
    LINEAR,
    BybitLoopback,
    element,
    instrument,
    listing,
    push,
    status_key,
)
from tests.collectors.conftest import FAST, stream_events
from tests.collectors.servers import LoopbackVenue, poll_until, running, status_is, stream_reaches
from tests.procs import ServiceProcess

LINEARS = ["ADAUSDT", "BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "1000PEPEUSDT"]


def rest(
    linear: list[str], inverse: list[str], *, limit: int = 3, closed: str = ""
) -> dict[str, Any]:
    entries = [instrument(s) for s in linear]
    if closed:
        entries.append(instrument(closed, status="Closed"))
    return {
        **listing("linear", entries, limit),
        **listing("inverse", [instrument(s) for s in inverse], limit),
    }


def service_for(venue: LoopbackVenue, redis_url: str, **over: Any) -> CollectorService:
    settings = BybitSettings(
        redis_url=redis_url,
        bybit_ws_url=f"{venue.ws_base}/v5/public",
        bybit_rest_url=venue.http_base,
        bybit_ping_seconds=0.3,
        bybit_page_limit=3,
        **{**FAST, **over},
    )
    return CollectorService(BybitVenue(settings), settings)


def topics(*symbols: str) -> set[str]:
    return {f"allLiquidation.{s}" for s in symbols}


@asynccontextmanager
async def btc_collector(redis_url: str) -> AsyncIterator[tuple[LoopbackVenue, BybitLoopback]]:
    """A venue listing BTCUSDT and BTCUSD, with the collector running and subscribed to it."""
    async with LoopbackVenue(rest(["BTCUSDT"], ["BTCUSD"])) as venue:
        bybit = BybitLoopback(venue)
        async with running(service_for(venue, redis_url)):
            await venue.wait_for(lambda: bool(bybit.subscribed(LINEAR)))
            yield venue, bybit


async def test_every_listed_symbol_subscribed_in_chunks_over_connections(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with LoopbackVenue(rest(LINEARS, ["BTCUSD", "ETHUSD"], closed="OLDUSDT")) as venue:
        bybit = BybitLoopback(venue)
        service = service_for(
            venue, redis_url, bybit_topics_per_request=2, bybit_topics_per_connection=4
        )
        async with running(service):
            await venue.wait_for(
                lambda: (
                    bybit.subscribed(LINEAR) == topics(*LINEARS)
                    and bybit.subscribed(INVERSE) == topics("BTCUSD", "ETHUSD")
                )
            )
            # 7 linear symbols at most 4 a connection: two connections, no topic on both.
            assert sorted(len(t) for t in bybit.per_connection(LINEAR)) == [3, 4]
            assert all(len(r["args"]) <= 2 for r in bybit.requests)
            assert venue.rest_hits["/v5/market/instruments-info?category=linear&limit=3&cursor=c2"]
            frame = push("BTCUSDT", element(1, side="Buy"), element(2, side="Sell"))
            assert await bybit.publish("BTCUSDT", frame) == 1
            inverse = {"T": element(3)["T"], "s": "ETHUSD", "S": "Buy", "v": "1500", "p": "3000"}
            await bybit.publish("ETHUSD", push("ETHUSD", inverse))
            await stream_reaches(redis, keys, 3)
            # The heartbeat goes out on every connection even while frames flow.
            await venue.wait_for(
                lambda: sum('"op":"ping"' in m for m in venue.received) >= 6, timeout=5
            )
            status = await status_is(redis, status_key(keys), connected="1", events="3")
    events = sorted(await stream_events(redis, keys), key=lambda e: e.ts)
    assert [(e.product, e.symbol, e.side) for e in events] == [
        ("bybit-linear", "BTC", "long"), ("bybit-linear", "BTC", "short"),
        ("bybit-inverse", "ETH", "long"),
    ]  # fmt: skip
    assert events[2].usd_cents == 150_000 and str(events[2].qty) == "0.5"
    assert not any(e.sampled for e in events)
    labels = {c["product"] for c in orjson.loads(status["connections"])}
    assert labels == {"bybit-linear", "bybit-linear#2", "bybit-inverse"}


async def test_new_listing_and_delisting_are_followed_without_a_restart(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with LoopbackVenue(rest(["BTCUSDT", "ETHUSDT"], ["BTCUSD"])) as venue:
        bybit = BybitLoopback(venue)
        service = service_for(venue, redis_url, bybit_listing_refresh_seconds=0.2)
        async with running(service):
            await venue.wait_for(lambda: bybit.subscribed(LINEAR) == topics("BTCUSDT", "ETHUSDT"))
            first = venue.open_on(LINEAR)
            venue.rest.update(rest(["BTCUSDT", "NEWUSDT"], ["BTCUSD"]))  # ETH out, NEW in
            await venue.wait_for(
                lambda: bybit.subscribed(LINEAR) == topics("BTCUSDT", "NEWUSDT"), timeout=5
            )
            assert venue.open_on(LINEAR) == first  # the same connection: no reconnect
            ops = [(r["op"], r["args"]) for r in bybit.requests[-2:]]
            assert ops == [
                ("unsubscribe", ["allLiquidation.ETHUSDT"]),
                ("subscribe", ["allLiquidation.NEWUSDT"]),
            ]
            await bybit.publish("NEWUSDT", push("NEWUSDT", element(4, "NEWUSDT")))
            await stream_reaches(redis, keys, 1)
            venue.rest.update(rest([], ["BTCUSD"]))  # an empty listing changes nothing
            hits = sum(venue.rest_hits.values())
            await poll_until(lambda: sum(venue.rest_hits.values()) > hits + 2, timeout=5)
            assert bybit.subscribed(LINEAR) == topics("BTCUSDT", "NEWUSDT")
            await status_is(redis, status_key(keys), connected="1", reconnects="0")
    (event,) = await stream_events(redis, keys)
    assert event.instrument == "NEWUSDT" and event.symbol == "NEW"


async def test_unanswered_pings_reconnect_resubscribe_and_record_the_gap(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with btc_collector(redis_url) as (venue, bybit):
        await status_is(redis, status_key(keys), connected="1")
        venue.mute_pongs = True
        await venue.wait_for(lambda: len(venue.paths) >= 4, timeout=10)
        venue.mute_pongs = False
        await venue.wait_for(lambda: bybit.subscribed(LINEAR) == topics("BTCUSDT"))
        await bybit.publish("BTCUSDT", push("BTCUSDT", element(7)))
        await stream_reaches(redis, keys, 1)

        async def reconnected() -> bool:  # a status published after the reconnect
            fields = await redis.hgetall(status_key(keys))
            return fields.get("connected") == "1" and int(fields.get("reconnects", 0)) >= 1

        await poll_until(reconnected)
        status = await redis.hgetall(status_key(keys))
    assert "liveness ping" in status["last_error"]
    assert await redis.zcard(keys.collector_gaps("bybit")) >= 1


async def test_a_refused_symbol_does_not_block_the_others(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with LoopbackVenue(rest(LINEARS, ["BTCUSD"])) as venue:
        bybit = BybitLoopback(venue)
        bybit.refuse = topics("DOGEUSDT")
        async with running(service_for(venue, redis_url)):
            others = topics(*LINEARS) - topics("DOGEUSDT")
            await venue.wait_for(lambda: bybit.subscribed(LINEAR) == others)
            status = await status_is(redis, status_key(keys), connected="1", venue_errors="1")
            assert "Invalid symbol" in status["last_error"]
            await bybit.publish("SOLUSDT", push("SOLUSDT", element(1, "SOLUSDT")))
            await stream_reaches(redis, keys, 1)
            assert len(venue.paths) == 2  # no reconnect loop


async def test_a_refused_symbol_is_asked_for_again_with_a_backoff(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with LoopbackVenue(rest(LINEARS, ["BTCUSD"])) as venue:
        bybit = BybitLoopback(venue)
        bybit.refuse = topics("DOGEUSDT")
        service = service_for(venue, redis_url, bybit_refused_retry_seconds=0.05)
        assert isinstance(service.venue, BybitVenue)
        retry = service.venue.refused_retry

        def asked_for_doge() -> int:
            return sum("allLiquidation.DOGEUSDT" in r.get("args", []) for r in bybit.requests)

        async with running(service):
            others = topics(*LINEARS) - topics("DOGEUSDT")
            await venue.wait_for(lambda: bybit.subscribed(LINEAR) == others)
            # refused again and again: asked for again each time, later and later
            await venue.wait_for(lambda: retry.failures >= 3, timeout=20)
            assert asked_for_doge() >= 3
            assert bybit.subscribed(LINEAR) == others  # the others kept flowing
            bybit.refuse = set()  # the venue takes it now: the next retry subscribes it
            await venue.wait_for(lambda: bybit.subscribed(LINEAR) == topics(*LINEARS), timeout=20)
            await bybit.publish("DOGEUSDT", push("DOGEUSDT", element(1, "DOGEUSDT")))
            await stream_reaches(redis, keys, 1)
        (event,) = await stream_events(redis, keys)
        assert event.instrument == "DOGEUSDT"


async def test_malformed_frames_are_dead_lettered_and_good_ones_kept(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with btc_collector(redis_url) as (_, bybit):
        bad = {**element(2), "v": "NaN"}
        await bybit.publish("BTCUSDT", push("BTCUSDT", element(1), bad, element(3)))
        await bybit.publish("BTCUSDT", "{garbage")
        await bybit.publish("BTCUSDT", push("BTCUSDT", element(1)))  # a re-send: once
        await stream_reaches(redis, keys, 2)
        await status_is(redis, status_key(keys), errors="2", deadletters="2", duplicates="1")
    letters = [f for _, f in await redis.xrange(keys.deadletter)]
    assert letters[0]["source"] == "collector-bybit"
    assert orjson.loads(letters[0]["raw"])["data"] == [bad]
    assert letters[0]["context"] == "bybit-linear 'allLiquidation.BTCUSDT' data[1]"
    assert len(await stream_events(redis, keys)) == 2


async def test_process_runs_and_stops_cleanly(
    redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    async with LoopbackVenue(rest(LINEARS, ["BTCUSD"])) as venue:
        bybit = BybitLoopback(venue)
        env = {
            **service_env,
            "LIQMON_BYBIT_WS_URL": f"{venue.ws_base}/v5/public",
            "LIQMON_BYBIT_REST_URL": venue.http_base,
            "LIQMON_BYBIT_PAGE_LIMIT": "3",
            "LIQMON_COLLECTOR_STATUS_SECONDS": "0.2",
        }
        proc = ServiceProcess("collector-bybit", env, tmp_path).start()
        try:
            await venue.wait_for(lambda: bybit.subscribed(LINEAR) == topics(*LINEARS), timeout=20)
            await venue.wait_for(lambda: bybit.subscribed(INVERSE) == topics("BTCUSD"))
            await bybit.publish("BTCUSDT", push("BTCUSDT", element(1), element(2, side="Sell")))
            await stream_reaches(redis, keys, 2, timeout=15)
            status = await status_is(redis, status_key(keys), connected="1")
            assert status["pid"] == str(proc.pid)
            code = await asyncio.to_thread(proc.stop)
        finally:
            proc.kill()
    assert code == 0, proc.log()
    assert {(e.exchange, e.side) for e in await stream_events(redis, keys)} == {
        ("bybit", "long"), ("bybit", "short"),
    }  # fmt: skip
    final = await redis.hgetall(status_key(keys))
    assert final["connected"] == "0" and final["gap_open_since"] != ""


async def test_an_emptied_connection_is_closed_and_a_previous_gap_inherited(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    # A previous run stopped 5 s ago with its gap open: the first connect must record it,
    # although Bybit's connections only exist once the listing has loaded.
    await redis.hset(status_key(keys), "gap_open_since", str(now_ms() - 5_000))
    async with LoopbackVenue(rest(["ADAUSDT", "BTCUSDT", "ETHUSDT"], ["BTCUSD"])) as venue:
        bybit = BybitLoopback(venue)
        service = service_for(
            venue, redis_url, bybit_topics_per_connection=2, bybit_listing_refresh_seconds=0.2
        )
        async with running(service):
            await venue.wait_for(lambda: len(bybit.per_connection(LINEAR)) == 2)
            await poll_until(lambda: redis.zcard(keys.collector_gaps("bybit")))
            venue.rest.update(rest(["ADAUSDT"], ["BTCUSD"]))  # two delisted: one connection left
            await venue.wait_for(lambda: bybit.per_connection(LINEAR) == [topics("ADAUSDT")])

            async def only_two_connections() -> bool:  # the emptied one left the status
                raw = await redis.hget(status_key(keys), "connections") or "[]"
                labels = sorted(c["product"] for c in orjson.loads(raw))
                return labels == ["bybit-inverse", "bybit-linear"]

            await poll_until(only_two_connections)
            await status_is(redis, status_key(keys), connected="1", reconnects="0")


async def test_the_status_notes_say_what_the_inverse_totals_rest_on(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    """The inverse `v` unit is inferred: the running collector checks each inverse size
    against the listing's qtyStep and publishes its evidence in the status `notes`, which
    /api/health shows."""
    async with btc_collector(redis_url) as (venue, bybit):
        await venue.wait_for(lambda: bool(bybit.subscribed(INVERSE)))
        big = {**element(1, "BTCUSD", v="20000"), "p": "90000.5"}  # $1.8B if it were coins
        await bybit.publish("BTCUSD", push("BTCUSD", big, element(2, "BTCUSD", v="300")))
        await stream_reaches(redis, keys, 2)

        async def noted() -> bool:
            raw = await redis.hget(status_key(keys), "notes")
            return raw is not None and orjson.loads(raw).get("inverse_v_votes_usd") == "1"

        await poll_until(noted)
    notes = orjson.loads(await redis.hget(status_key(keys), "notes"))
    assert notes["inverse_v_unit"] == "usd" and notes["inverse_v_ambiguous"] == "1"
    assert notes["inverse_v_rule"] == "inverse v is USD (1-USD contracts): usd = v, qty = v / p"
    usd = sorted(e.usd_cents for e in await stream_events(redis, keys))
    assert usd == [30_000, 2_000_000]
