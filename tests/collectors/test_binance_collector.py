"""The Binance collector in-process against a real loopback venue and the test Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from redis.asyncio import Redis

from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon_binance.venue import BinanceVenue
from tests.collectors.conftest import binance_settings, stream_events
from tests.collectors.servers import LoopbackVenue, poll_until, running, status_is, stream_reaches
from tests.collectors.wire import binance_frame, binance_usd_cents, binance_z

USDM = "/market/ws/"  # path prefixes of the two products' connections
COINM = "/ws/"
REST = {
    "/fapi/v1/exchangeInfo": {
        "symbols": [{"symbol": "BTCUSDT", "baseAsset": "BTC", "quoteAsset": "USDT"}]
    },
    "/dapi/v1/exchangeInfo": {
        "symbols": [
            {"symbol": "BTCUSD_PERP", "baseAsset": "BTC", "quoteAsset": "USD", "contractSize": 100}
        ]
    },
}


def service_for(venue: LoopbackVenue, redis_url: str, **over: Any) -> CollectorService:
    settings = binance_settings(redis_url, venue.ws_base, venue.http_base, **over)
    return CollectorService(BinanceVenue(settings), settings)


async def connected(venue: LoopbackVenue, usdm: int = 1, coinm: int = 1) -> None:
    await venue.wait_for(
        lambda: len(venue.open_on(USDM)) >= usdm and len(venue.open_on(COINM)) >= coinm
    )


async def test_n_frames_arrive_exactly_once_with_exact_totals(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    n = 300
    async with LoopbackVenue(REST) as venue, running(service_for(venue, redis_url)):
        await connected(venue)
        assert venue.open_on(USDM)[0].request.path == "/market/ws/!forceOrder@arr"  # type: ignore[union-attr]
        for i in range(n):
            await venue.broadcast(binance_frame(i, mode=("raw", "combined", "array")[i % 3]), USDM)
        await venue.broadcast(binance_frame(n, mode="raw"), USDM)  # a replay of the last...
        await venue.broadcast(binance_frame(n - 1, mode="raw"), USDM)  # ...is written once
        await stream_reaches(redis, keys, n + 1)
        status = await status_is(
            redis, keys.collector_status("binance"), connected="1", events=str(n + 1)
        )
    events = await stream_events(redis, keys)
    assert len({e.id for e in events}) == n + 1
    assert sum(e.usd_cents for e in events) == sum(binance_usd_cents(i) for i in range(n + 1))
    assert {e.symbol for e in events} == {"BTC"} and {e.side for e in events} == {"long"}
    assert status["gap_open_since"] == "" and status["duplicates"] == "1"
    conns = orjson.loads(status["connections"])
    assert {c["product"] for c in conns} == {"binance-usdm", "binance-coinm"}
    assert await redis.ttl(keys.collector_status("binance")) > 0


async def test_forced_disconnect_reconnects_records_gap_and_loses_nothing(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with LoopbackVenue(REST) as venue, running(service_for(venue, redis_url)):
        await connected(venue)
        for i in range(50):
            await venue.broadcast(binance_frame(i), USDM)
        await stream_reaches(redis, keys, 50)
        venue.drop_all(USDM)
        await venue.wait_for(lambda: len(venue.paths) >= 3)  # usdm, coinm, usdm again
        await connected(venue)
        for i in range(50, 100):
            await venue.broadcast(binance_frame(i), USDM)
        await stream_reaches(redis, keys, 100)
        status = await status_is(
            redis, keys.collector_status("binance"), connected="1", reconnects="1"
        )
    gaps = await redis.zrange(keys.collector_gaps("binance"), 0, -1, withscores=True)
    assert len(gaps) == 1
    start, end = (int(x) for x in gaps[0][0].split(":"))
    assert 0 <= end - start < 5_000 and gaps[0][1] == end
    assert "binance-usdm" in status["last_error"]
    events = await stream_events(redis, keys)
    assert len(events) == len({e.id for e in events}) == 100


async def test_stalled_connection_is_detected_by_ping_timeout(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with LoopbackVenue(REST) as venue, running(service_for(venue, redis_url)):
        await connected(venue)
        stalled = venue.open_on(COINM)[0]
        venue.stall_all(COINM)  # socket open, nothing answers: only a ping can tell
        await venue.wait_for(lambda: len(venue.paths) == 3, timeout=10)  # a new COIN-M socket
        stalled.transport.abort()  # (the stalled side reads nothing, so it never saw the drop)
        await venue.wait_for(lambda: stalled not in venue.connections)
        await venue.broadcast(binance_frame(1, symbol="BTCUSD_PERP"), COINM)
        await stream_reaches(redis, keys, 1)
        status = await status_is(
            redis, keys.collector_status("binance"), connected="1", reconnects="1"
        )
    assert "liveness ping" in status["last_error"]
    (event,) = await stream_events(redis, keys)
    assert event.product == "binance-coinm" and event.margin == "inverse"
    assert event.usd_cents == int(binance_z(1) * 100 * 100)  # z contracts × 100 USD, in cents


HOSTILE = [
    "not json",
    "{",
    "[1, 2",
    '{"e":"forceOrder"}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","z":"1","ap":"NaN","T":1790000000000}}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","z":"-1","ap":"5","T":1790000000000}}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","z":"0","ap":"5","T":1790000000000}}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","z":1,"ap":"5","T":1790000000000}}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","z":"1e40","ap":"5","T":1790000000000}}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":"HOLD","z":"1","ap":"5","T":1790000000000}}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":["SELL"],"z":"1","ap":"5","T":1790000000000}}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","z":"1","ap":"5","T":"soon"}}',
    '{"e":"forceOrder","o":{"s":12,"S":"SELL","z":"1","ap":"5","T":1790000000000}}',
    '{"e":"forceOrder","o":{"s":"BTCUSDT","S":"SELL","z":"1","ap":"5","T":12}}',
    '{"e":"forceOrder","o":[]}',
    '{"e":"trade","o":{}}',
    "[null]",
    '{"e":"forceOrder","o":{"s":"' + "X" * 1_000_000 + 'USDT","S":"SELL","z":"1","ap":"5","T":1}}',
]


async def test_malformed_burst_is_counted_dead_lettered_and_good_frames_still_arrive(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with LoopbackVenue(REST) as venue, running(service_for(venue, redis_url)) as stop:
        await connected(venue)
        for i, bad in enumerate(HOSTILE):
            await venue.broadcast(binance_frame(i), USDM)
            await venue.broadcast(bad, USDM)
        await venue.broadcast(binance_frame(len(HOSTILE)), USDM)
        await stream_reaches(redis, keys, len(HOSTILE) + 1)
        await status_is(redis, keys.collector_status("binance"), errors=str(len(HOSTILE)))
        assert not stop.is_set() and len(venue.paths) == 2  # never reconnected
        await poll_until(lambda: _xlen_is(redis, keys.deadletter, len(HOSTILE)))
    letters = [f for _, f in await redis.xrange(keys.deadletter)]
    assert {f["source"] for f in letters} == {"collector-binance"}
    assert all(f["context"].startswith("binance-usdm") for f in letters)
    assert letters[0]["raw"] == "not json" and "invalid JSON" in letters[0]["reason"]
    assert max(int(f["raw_len"]) for f in letters) > 1_000_000
    assert len(await stream_events(redis, keys)) == len(HOSTILE) + 1


async def _xlen_is(redis: Redis, key: str, n: int) -> bool:
    return int(await redis.xlen(key)) == n


async def test_planned_rollover_leaves_no_gap_and_no_duplicates(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    # The venue cuts every connection at 1.5 s; the collector must replace it before.
    async with LoopbackVenue(REST, max_age=1.5) as venue:
        service = service_for(venue, redis_url, binance_max_conn_seconds=1.5)
        async with running(service):
            await connected(venue)
            sent = 0
            while service.status.counters.rollovers < 4:  # both products roll twice
                await venue.broadcast(binance_frame(sent), USDM)  # to every open connection
                await venue.broadcast(binance_frame(sent, symbol="BTCUSD_PERP"), COINM)
                sent += 1
                await asyncio.sleep(0.01)
            await stream_reaches(redis, keys, 2 * sent)
            status = await status_is(redis, keys.collector_status("binance"), connected="1")
    assert status["reconnects"] == "0" and service.status.counters.reconnects == 0
    assert await redis.zcard(keys.collector_gaps("binance")) == 0
    events = await stream_events(redis, keys)
    assert len(events) == len({e.id for e in events}) == 2 * sent


async def test_unknown_coinm_symbol_is_held_until_exchange_info_knows_it(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with LoopbackVenue(REST) as venue, running(service_for(venue, redis_url)) as _:
        await connected(venue)
        await venue.broadcast(binance_frame(7, symbol="ETHUSD_PERP"), COINM)
        await status_is(redis, keys.collector_status("binance"), held="1")
        assert await redis.xlen(keys.events) == 0
        venue.rest["/dapi/v1/exchangeInfo"] = {
            "symbols": [
                {
                    "symbol": "ETHUSD_PERP",
                    "baseAsset": "ETH",
                    "quoteAsset": "USD",
                    "contractSize": 10,
                }
            ]
        }
        await stream_reaches(redis, keys, 1)
        await status_is(redis, keys.collector_status("binance"), held="0")
    (event,) = await stream_events(redis, keys)
    assert event.symbol == "ETH" and event.usd_cents == int(binance_z(7) * 10 * 100)
    assert venue.rest_hits["/dapi/v1/exchangeInfo"] >= 2
