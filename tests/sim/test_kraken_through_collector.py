"""The Kraken Futures collector in-process against the simulator's Kraken (real WebSockets,
real REST, the test Redis): every listed contract subscribed, inverse and linear valued by
contract size, `trade_snapshot` liquidations counted once (also after a reconnect), the
60-second ping rule kept, broken frames dead-lettered, the stream equal to the ledger."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import orjson
from redis.asyncio import Redis

from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon_kraken.settings import KrakenSettings
from liqmon_kraken.venue import KrakenVenue
from liqmon_sim.catalog import Instrument, parse_coins
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.venues.kraken import KrakenConn, KrakenOptions, KrakenServer, instruments, notional
from tests.collectors.conftest import FAST
from tests.collectors.servers import poll_until, running, status_is
from tests.sim.standalone import make_liquidation, serving, stream_equals_ledger

COINS = ("BTC", "ETH", "SOL", "HYPE")


def listing(coins: tuple[str, ...] = COINS) -> dict[str, Instrument]:
    table = {c.name: c for c in parse_coins()}
    return {i.inst_id: i for name in coins for i in instruments(table[name])}


def exchange_of(venue: str) -> str:
    return venue.split("-")[0]


def liq(server: KrakenServer, product: str, side: str, qty: str, price: str) -> Liquidation:
    return make_liquidation(notional, server.listed[product], side, qty, price)


def subscribed(server: KrakenServer) -> set[str]:
    return {p for c in server.conns if isinstance(c, KrakenConn) and c.live for p in c.products}


@asynccontextmanager
async def kraken(
    redis_url: str, server: KrakenServer | None = None, **over: Any
) -> AsyncIterator[tuple[KrakenServer, CollectorService]]:
    server = server or KrakenServer(Ledger(), listing(), KrakenOptions(), random.Random(2))
    async with serving(server):
        settings = KrakenSettings(
            redis_url=redis_url,
            kraken_ws_url=f"ws://127.0.0.1:{server.port}/ws/v1",
            kraken_rest_url=f"http://127.0.0.1:{server.port}",
            **{**FAST, **over},
        )
        service = CollectorService(KrakenVenue(settings), settings)
        async with running(service):
            await poll_until(lambda: subscribed(server) == set(server.listed))
            yield server, service


async def test_every_contract_subscribed_and_valued_by_its_kind(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with kraken(redis_url, kraken_products_per_request=2) as (server, _):
        assert set(server.listed) == {
            "PI_XBTUSD", "FI_XBTUSD_261225", "PF_XBTUSD", "PI_ETHUSD", "FI_ETHUSD_261225",
            "PF_ETHUSD", "PI_SOLUSD", "PF_SOLUSD", "PF_HYPEUSD",
        }  # fmt: skip
        server.submit(liq(server, "PI_XBTUSD", "long", "12000", "82000.5"))  # 12,000 USD
        server.submit(liq(server, "PF_ETHUSD", "short", "1.25", "3100.07"))  # 1.25 ETH
        server.submit(liq(server, "FI_ETHUSD_261225", "short", "250", "3101"))
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
    events = {f["instrument"]: f for _, f in await redis.xrange(keys.events)}
    btc, eth = events["PI_XBTUSD"], events["PF_ETHUSD"]
    assert (btc["product"], btc["symbol"], btc["side"], btc["usd"], btc["qty"]) == (
        "kraken-inverse", "BTC", "long", "12000.00", "0.14634057",
    )  # fmt: skip
    assert (eth["product"], eth["side"], eth["usd"], eth["qty"]) == (
        "kraken-linear", "short", "3875.09", "1.25",
    )  # fmt: skip
    assert {f["sampled"] for f in events.values()} == {"0"}


async def test_snapshot_liquidations_count_once_and_a_reconnect_recovers_them(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    server = KrakenServer(Ledger(), listing(("BTC",)), KrakenOptions(), random.Random(2))
    server.submit(liq(server, "PI_XBTUSD", "short", "500", "81000"))  # before anyone listens
    assert server.ledger.totals.count == 0
    async with kraken(redis_url, server) as (_, service):
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        assert server.ledger.totals.count == 1  # carried by the trade_snapshot
        server.submit(liq(server, "PF_XBTUSD", "long", "0.002", "81000"))
        opened = server.stats["connections_opened"]
        await server.drop_all("abort")
        await poll_until(lambda: server.stats["connections_opened"] > opened)
        await poll_until(lambda: subscribed(server) == set(server.listed))
        server.submit(liq(server, "PF_XBTUSD", "long", "0.003", "81000"))
        ids = await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        assert server.ledger.totals.count == 3 and set(ids.values()) == {1}
        assert service.writer.duplicates >= 2  # the snapshots' replays, dropped by id


async def test_pings_keep_the_connection_and_broken_frames_are_dead_lettered(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    server = KrakenServer(Ledger(), listing(("SOL",)), KrakenOptions(idle_timeout=0.6))
    async with kraken(redis_url, server, kraken_ping_seconds=0.2) as (_, service):
        rng = random.Random(9)
        kinds = ("invalid_json", "missing_field", "negative", "zero", "nan", "huge", "wrong_type")
        for kind in (*kinds, "oversize", "unknown_instrument"):
            server.send_malformed(liq(server, "PF_SOLUSD", "long", "3", "140.1"), kind, rng)
        server.submit(liq(server, "PF_SOLUSD", "long", "3", "140.1"))
        server.resend(rng, 0)
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        await poll_until(lambda: service.deadletters.count == 9)
        (conn,) = [c for c in server.conns if isinstance(c, KrakenConn)]
        await poll_until(lambda: conn.pings >= 6)  # > 1 s of pings: twice the idle limit
        assert conn.open and server.stats["idle_closes"] == 0
        await status_is(redis, keys.collector_status("kraken"), reconnects="0", connected="1")


async def test_a_silent_client_is_closed_after_the_idle_limit(redis_url: str) -> None:
    server = KrakenServer(Ledger(), listing(("SOL",)), KrakenOptions(idle_timeout=0.5))
    # a collector that pings less often than the venue's limit is cut off and reconnects
    async with kraken(redis_url, server, kraken_ping_seconds=2.0) as (_, service):
        await poll_until(lambda: server.stats["idle_closes"] >= 1, timeout=5)
        await poll_until(lambda: service.status.counters.reconnects >= 1, timeout=5)


def test_notional_inverse_is_usd_contracts_linear_coins() -> None:
    table = listing(("BTC",))
    assert notional(table["PI_XBTUSD"], Decimal(12000), Decimal("82000.5")) == 12000
    assert notional(table["PF_XBTUSD"], Decimal("0.002"), Decimal("82000.5")) == Decimal("164.001")


async def test_a_refused_product_does_not_hold_up_the_others(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    options = KrakenOptions(refused=frozenset({"PF_SOLUSD"}))
    server = KrakenServer(Ledger(), listing(("SOL",)), options, random.Random(2))
    async with serving(server):
        settings = KrakenSettings(
            redis_url=redis_url,
            kraken_ws_url=f"ws://127.0.0.1:{server.port}/ws/v1",
            kraken_rest_url=f"http://127.0.0.1:{server.port}",
            **FAST,
        )
        async with running(CollectorService(KrakenVenue(settings), settings)):
            await poll_until(lambda: subscribed(server) == {"PI_SOLUSD"})
            server.submit(liq(server, "PI_SOLUSD", "short", "700", "140.5"))
            await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
            status = await status_is(redis, keys.collector_status("kraken"), connected="1")
            assert status["reconnects"] == "0" and status["venue_errors"] == "1"
            notes = orjson.loads(status["notes"])  # what /api/health shows
            assert notes["products_refused"] == "PF_SOLUSD" and "inferred" in notes["side"]
    assert server.stats["subscribes_refused"] == 1
