"""The OKX collector in-process against a real loopback venue and the test Redis."""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection

from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon_okx.parser import parse_instruments
from liqmon_okx.venue import OkxVenue
from tests.collectors.conftest import okx_settings, stream_events
from tests.collectors.servers import LoopbackVenue, poll_until, running, status_is, stream_reaches
from tests.collectors.wire import (
    okx_detail,
    okx_frame,
    okx_instrument,
    okx_instruments,
    okx_usd_cents,
)
from tests.conftest import FIXTURES as FIXTURES_DIR

SWAP_PATH = "/api/v5/public/instruments?instType=SWAP"
FUTURES_PATH = "/api/v5/public/instruments?instType=FUTURES"


def rest(*inst_ids: str) -> dict[str, Any]:
    return {
        SWAP_PATH: okx_instruments(*(okx_instrument(i) for i in inst_ids)),
        FUTURES_PATH: okx_instruments(),
    }


def service_for(venue: LoopbackVenue, redis_url: str, **over: Any) -> CollectorService:
    settings = okx_settings(redis_url, venue.ws_base, venue.http_base, **over)
    return CollectorService(OkxVenue(settings), settings)


def status_key(keys: Keys) -> str:
    return keys.collector_status("okx")


async def test_subscribes_keeps_alive_and_writes_every_detail_once(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    specs = parse_instruments(rest("BTC-USDT-SWAP")[SWAP_PATH])
    details = [okx_detail(i, pos_side=("long", "short")[i % 2]) for i in range(120)]
    async with (
        LoopbackVenue(rest("BTC-USDT-SWAP")) as venue,
        running(service_for(venue, redis_url)),
    ):
        await venue.wait_for(lambda: len(venue.received) >= 1 and len(venue.connections) == 1)
        subscribe = orjson.loads(venue.received[0])
        assert subscribe == {
            "op": "subscribe",
            "args": [
                {"channel": "liquidation-orders", "instType": "SWAP"},
                {"channel": "liquidation-orders", "instType": "FUTURES"},
            ],
        }
        for start in range(0, 120, 3):  # frames of three details
            await venue.broadcast(okx_frame(details[start : start + 3]))
        await venue.broadcast(okx_frame(details[:1]))  # OKX replays an old one: written once
        await stream_reaches(redis, keys, 120)
        await venue.wait_for(lambda: "ping" in venue.received, timeout=5)  # quiet => text ping
        status = await status_is(redis, status_key(keys), connected="1", events="120")
    events = await stream_events(redis, keys)
    assert len({e.id for e in events}) == 120
    assert sum(e.usd_cents for e in events) == sum(
        okx_usd_cents(d, specs["BTC-USDT-SWAP"]) for d in details
    )
    assert {e.side for e in events} == {"long", "short"} and {e.symbol for e in events} == {"BTC"}
    assert status["reconnects"] == "0" and int(status["last_frame_ts"]) > 0


async def test_a_bad_detail_does_not_lose_the_good_ones(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    bad = {**okx_detail(1), "sz": "-3"}
    frame = okx_frame([okx_detail(0), bad, okx_detail(2), {**okx_detail(3), "posSide": "sideways"}])
    async with (
        LoopbackVenue(rest("BTC-USDT-SWAP")) as venue,
        running(service_for(venue, redis_url)),
    ):
        await venue.wait_for(lambda: len(venue.connections) == 1)
        await poll_until(lambda: len(venue.received) >= 1)
        await venue.broadcast(frame)
        await venue.broadcast("{garbage")
        await stream_reaches(redis, keys, 2)
        await status_is(redis, status_key(keys), errors="3", deadletters="3")
    letters = [f for _, f in await redis.xrange(keys.deadletter)]
    assert [f["context"] for f in letters[:2]] == [
        "okx-swap+futures 'BTC-USDT-SWAP' data[0].details[1]",
        "okx-swap+futures 'BTC-USDT-SWAP' data[0].details[3]",
    ]
    assert orjson.loads(letters[0]["raw"])["details"] == [bad]  # only the bad part is kept
    assert {e.ts for e in await stream_events(redis, keys)} == {
        int(okx_detail(0)["ts"]),
        int(okx_detail(2)["ts"]),
    }


async def test_unknown_instrument_is_held_then_written_or_finally_dead_lettered(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with (
        LoopbackVenue(rest("BTC-USDT-SWAP")) as venue,
        running(service_for(venue, redis_url, collector_hold_seconds=1.5)),
    ):
        await venue.wait_for(lambda: len(venue.connections) == 1 and len(venue.received) >= 1)
        await venue.broadcast(okx_frame([okx_detail(5)], inst_id="NEW-USDT-SWAP"))
        await venue.broadcast(okx_frame([okx_detail(6)], inst_id="GHOST-USDT-SWAP"))
        await status_is(redis, status_key(keys), held="2")
        hits = venue.rest_hits[SWAP_PATH]
        venue.rest.update(rest("BTC-USDT-SWAP", "NEW-USDT-SWAP"))  # the listing appears
        await stream_reaches(redis, keys, 1)
        await status_is(redis, status_key(keys), held="0", deadletters="1")
        assert venue.rest_hits[SWAP_PATH] > hits
    (event,) = await stream_events(redis, keys)
    assert event.instrument == "NEW-USDT-SWAP" and event.symbol == "NEW"
    (letter,) = [f for _, f in await redis.xrange(keys.deadletter)]
    assert "GHOST-USDT-SWAP" in letter["reason"] and "GHOST-USDT-SWAP" in letter["raw"]


async def test_unanswered_pings_drop_the_connection_and_the_gap_is_recorded(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with (
        LoopbackVenue(rest("BTC-USDT-SWAP")) as venue,
        running(service_for(venue, redis_url)),
    ):
        await venue.wait_for(lambda: len(venue.connections) == 1 and len(venue.received) >= 1)
        venue.mute_pongs = True  # open socket, acks done, pings ignored
        await venue.wait_for(lambda: len(venue.paths) == 2, timeout=10)
        venue.mute_pongs = False
        await venue.wait_for(lambda: len(venue.connections) == 1)
        await venue.broadcast(okx_frame([okx_detail(9)]))
        await stream_reaches(redis, keys, 1)
        status = await status_is(redis, status_key(keys), connected="1", reconnects="1")
    assert "liveness ping" in status["last_error"]
    assert await redis.zcard(keys.collector_gaps("okx")) == 1


async def test_service_upgrade_notice_moves_to_a_new_connection_without_a_gap(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    notice = (FIXTURES_DIR / "okx/okx_notice_doc_example.json").read_text()
    async with (
        LoopbackVenue(rest("BTC-USDT-SWAP")) as venue,
        running(service_for(venue, redis_url)),
    ):
        await venue.wait_for(lambda: len(venue.connections) == 1 and len(venue.received) >= 1)
        first = venue.connections[0]
        await venue.broadcast(notice)
        await venue.wait_for(lambda: len(venue.paths) == 2 and first not in venue.connections)
        await venue.broadcast(okx_frame([okx_detail(3)]))
        await stream_reaches(redis, keys, 1)
        status = await status_is(redis, status_key(keys), connected="1")
    assert status["reconnects"] == "0" and "64008" in status["last_error"]
    assert await redis.zcard(keys.collector_gaps("okx")) == 0


async def test_a_refused_subscription_is_retried(redis: Redis, redis_url: str, keys: Keys) -> None:
    refusals = 0

    async def refuse_once(conn: ServerConnection, msg: dict[str, Any]) -> None:
        nonlocal refusals
        if refusals == 0:
            refusals += 1
            await conn.send((FIXTURES_DIR / "okx/okx_error_doc_example.json").read_text())
            return
        for arg in msg["args"]:
            await conn.send(orjson.dumps({"event": "subscribe", "arg": arg}).decode())

    async with LoopbackVenue(rest("BTC-USDT-SWAP")) as venue:
        venue.on_subscribe = refuse_once
        async with running(service_for(venue, redis_url)):
            await venue.wait_for(lambda: len(venue.paths) == 2)
            await status_is(redis, status_key(keys), connected="1")
            await venue.broadcast(okx_frame([okx_detail(4)]))
            await stream_reaches(redis, keys, 1)
    assert refusals == 1
