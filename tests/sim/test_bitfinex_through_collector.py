"""The Bitfinex collector in-process against the simulator's Bitfinex (real WebSockets, the
test Redis): triggers counted, matches (sent first at times) and other pairs skipped, the
snapshot after subscribing counted once (also after a reconnect), any positive AMOUNT a long,
Bitfinex coin codes mapped, broken records dead-lettered, the stream equal to the ledger."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon_bitfinex.settings import BitfinexSettings
from liqmon_bitfinex.venue import BitfinexVenue
from liqmon_sim.catalog import Instrument, parse_coins
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.venues.bitfinex import (
    BitfinexConn,
    BitfinexOptions,
    BitfinexServer,
    instruments,
    notional,
)
from tests.collectors.conftest import FAST
from tests.collectors.servers import poll_until, running, status_is
from tests.sim.standalone import make_liquidation, serving, stream_equals_ledger


def listing() -> dict[str, Instrument]:
    return {i.inst_id: i for c in parse_coins() for i in instruments(c)}


def exchange_of(venue: str) -> str:
    return venue


def liq(server: BitfinexServer, symbol: str, side: str, qty: str, price: str) -> Liquidation:
    return make_liquidation(notional, server.listed[symbol], side, qty, price)


def subscribed(server: BitfinexServer) -> int:
    return sum(1 for c in server.conns if isinstance(c, BitfinexConn) and c.live and c.chan_id)


@asynccontextmanager
async def bitfinex(
    redis_url: str, server: BitfinexServer, **over: Any
) -> AsyncIterator[CollectorService]:
    async with serving(server):
        settings = BitfinexSettings(
            redis_url=redis_url, bitfinex_ws_url=f"ws://127.0.0.1:{server.port}/ws/2",
            **{**FAST, **over},
        )  # fmt: skip
        service = CollectorService(BitfinexVenue(settings), settings)
        async with running(service):
            await poll_until(lambda: subscribed(server) == 1)
            yield service


async def test_triggers_count_matches_and_other_pairs_do_not(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    options = BitfinexOptions(match_first_fraction=0.5, noise_fraction=1.0)
    server = BitfinexServer(Ledger(), listing(), options, random.Random(4))
    async with bitfinex(redis_url, server):
        server.submit(liq(server, "tBTCF0:USTF0", "long", "0.00268657", "9135.972557016"))
        server.submit(liq(server, "tETHF0:USTF0", "short", "8.6007", "222.248906484356"))
        server.submit(liq(server, "tATOF0:USTF0", "long", "0.5", "4.1"))  # under one coin
        for n in range(20):
            server.submit(liq(server, "tSOLF0:USTF0", "long" if n % 3 else "short", "1.5", "140"))
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
    events = {f["instrument"]: f for _, f in await redis.xrange(keys.events)}
    assert set(events) == {"tBTCF0:USTF0", "tETHF0:USTF0", "tATOF0:USTF0", "tSOLF0:USTF0"}
    btc, eth, atom = events["tBTCF0:USTF0"], events["tETHF0:USTF0"], events["tATOF0:USTF0"]
    assert (btc["side"], btc["usd"], btc["price_kind"]) == ("long", "24.54", "base_price")
    assert (eth["side"], eth["usd"], eth["qty"]) == ("short", "1911.50", "8.6007")
    assert (atom["symbol"], atom["side"]) == ("ATOM", "long")
    assert {f["sampled"] for f in events.values()} == {"0"}


async def test_snapshot_counts_once_and_a_reconnect_recovers_what_it_missed(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    server = BitfinexServer(Ledger(), listing(), BitfinexOptions(), random.Random(4))
    server.submit(liq(server, "tBTCF0:USTF0", "short", "0.2", "82000"))  # nobody listening
    assert server.ledger.totals.count == 0
    async with bitfinex(redis_url, server) as service:
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        assert server.ledger.totals.count == 1  # the snapshot carried it
        server.submit(liq(server, "tETHF0:USTF0", "long", "3", "3100"))
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        await server.drop_all("close")
        await poll_until(lambda: service.status.counters.reconnects >= 1)
        await poll_until(lambda: subscribed(server) == 1)
        server.submit(liq(server, "tETHF0:USTF0", "long", "4", "3100"))
        ids = await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        assert server.ledger.totals.count == 3 and set(ids.values()) == {1}
        assert service.writer.duplicates >= 2  # the second snapshot's triggers


async def test_broken_records_are_dead_lettered_and_heartbeats_keep_it_alive(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    server = BitfinexServer(Ledger(), listing(), BitfinexOptions(hb_interval=0.1))
    async with bitfinex(redis_url, server, bitfinex_ping_seconds=0.3) as service:
        rng = random.Random(6)
        kinds = ("invalid_json", "missing_field", "negative", "zero", "nan", "huge", "wrong_type")
        for kind in (*kinds, "oversize"):
            server.send_malformed(liq(server, "tSOLF0:USTF0", "long", "2", "140"), kind, rng)
        server.submit(liq(server, "tSOLF0:USTF0", "long", "2", "140"))
        server.resend(rng, 0)
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        await poll_until(lambda: service.deadletters.count == 8)
        frames = service.status.counters.frames
        await poll_until(lambda: service.status.counters.frames > frames + 5)  # heartbeats
        await status_is(redis, keys.collector_status("bitfinex"), reconnects="0", connected="1")


async def test_a_restart_notice_moves_to_a_fresh_connection_without_a_gap(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    server = BitfinexServer(Ledger(), listing(), BitfinexOptions(), random.Random(4))
    async with bitfinex(redis_url, server) as service:
        assert server.announce_restart() == 1
        await poll_until(lambda: service.status.counters.rollovers == 1)
        await poll_until(lambda: subscribed(server) == 1 and len(server.conns) == 1)
        server.submit(liq(server, "tBTCF0:USTF0", "long", "0.5", "82000"))
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        await status_is(redis, keys.collector_status("bitfinex"), reconnects="0", connected="1")
    assert await redis.zcard(keys.collector_gaps("bitfinex")) == 0


async def test_the_venue_speaks_bitfinex_v2() -> None:
    server = BitfinexServer(Ledger(), listing(), BitfinexOptions(hb_interval=0.05))
    server.submit(liq(server, "tBTCF0:USTF0", "long", "1", "82000"))
    async with serving(server), connect(f"ws://127.0.0.1:{server.port}/ws/2") as ws:
        assert orjson.loads(await ws.recv())["event"] == "info"
        await ws.send('{"event":"conf","flags":98304}')
        assert orjson.loads(await ws.recv()) == {"event": "conf", "status": "OK", "flags": 98304}
        await ws.send('{"event":"subscribe","channel":"status","key":"liq:global"}')
        ack = orjson.loads(await ws.recv())
        snapshot, beat = orjson.loads(await ws.recv()), orjson.loads(await ws.recv())
    assert ack["event"] == "subscribed" and ack["key"] == "liq:global"
    chan = ack["chanId"]
    assert snapshot[0] == chan and len(snapshot) == 4  # chanId, records, SEQ, TIMESTAMP
    assert sorted(r[8] for r in snapshot[1]) == [0, 1]  # the trigger and its match
    assert beat[:2] == [chan, "hb"] and beat[2] == snapshot[2] + 1
