"""The dYdX collector in-process against the simulator's dYdX indexer (real WebSockets, real
REST, the test Redis): markets spread at most N per connection, LIQUIDATED trades only,
the `subscribed` history counted once (also after a reconnect), dust at $0.00, server pings,
broken frames dead-lettered, and the stream equal to the ledger liquidation by liquidation."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon_dydx.settings import DydxSettings
from liqmon_dydx.venue import DydxVenue
from liqmon_sim.catalog import Instrument, parse_coins
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.venues.dydx import (
    MAX_TRADES_SUBSCRIPTIONS,
    DydxConn,
    DydxOptions,
    DydxServer,
    instruments,
    notional,
)
from tests.collectors.conftest import FAST
from tests.collectors.servers import poll_until, running, status_is
from tests.sim.standalone import make_liquidation, serving, stream_equals_ledger

COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "LINK")


def listing(coins: tuple[str, ...] = COINS) -> dict[str, Instrument]:
    table = {c.name: c for c in parse_coins()}
    return {i.inst_id: i for name in coins for i in instruments(table[name])}


def exchange_of(venue: str) -> str:
    return venue


def liq(server: DydxServer, market: str, side: str = "long", qty: str = "2") -> Liquidation:
    inst = server.listed[market]
    return make_liquidation(notional, inst, side, qty, str(inst.tick * 1000))


@asynccontextmanager
async def dydx(
    redis_url: str, per_connection: int = 3, **options: Any
) -> AsyncIterator[tuple[DydxServer, CollectorService]]:
    """The venue, and the collector subscribed to every market it lists."""
    server = DydxServer(Ledger(), listing(), DydxOptions(**options), random.Random(3))
    async with serving(server):
        settings = DydxSettings(
            redis_url=redis_url,
            dydx_ws_url=f"ws://127.0.0.1:{server.port}/v4/ws",
            dydx_rest_url=f"http://127.0.0.1:{server.port}",
            dydx_markets_per_connection=per_connection,
            dydx_ping_seconds=0.5,
            **FAST,
        )
        service = CollectorService(DydxVenue(settings), settings)
        async with running(service):
            await poll_until(lambda: subscribed(server) == set(server.listed))
            yield server, service


def subscribed(server: DydxServer) -> set[str]:
    return {m for c in server.conns if isinstance(c, DydxConn) and c.live for m in c.markets}


async def test_every_market_subscribed_at_most_n_per_connection_and_liquidations_exact(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with dydx(redis_url) as (server, _):
        sizes = sorted(len(c.markets) for c in server.conns if isinstance(c, DydxConn))
        assert sizes == [1, 3, 3]  # 7 markets, 3 a connection
        for n, market in enumerate(sorted(server.listed)):
            server.submit(liq(server, market, "long" if n % 2 else "short", qty=f"{n + 1}"))
        ids = await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        assert server.ledger.totals.count == 7 and set(ids.values()) == {1}
        status = await status_is(redis, keys.collector_status("dydx"), connected="1")
        labels = {c["product"] for c in orjson.loads(status["connections"])}
        assert labels == {"dydx-perpetual", "dydx-perpetual#2", "dydx-perpetual#3"}
    events = await redis.xrange(keys.events)
    assert {f["sampled"] for _, f in events} == {"0"}
    assert {f["price_kind"] for _, f in events} == {"fill"}


async def test_history_counts_once_and_a_reconnect_recovers_what_it_missed(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    server = DydxServer(Ledger(), listing(("BTC", "ETH")), DydxOptions(), random.Random(3))
    missed = [liq(server, "BTC-USD", qty="1"), liq(server, "ETH-USD", "short", qty="3")]
    for liquidation in missed:
        server.submit(liquidation)  # nobody subscribed yet: only in the market's history
    assert server.ledger.totals.count == 0 and server.stats["undelivered"] == 2
    async with serving(server):
        settings = DydxSettings(
            redis_url=redis_url,
            dydx_ws_url=f"ws://127.0.0.1:{server.port}/v4/ws",
            dydx_rest_url=f"http://127.0.0.1:{server.port}",
            **FAST,
        )
        async with running(CollectorService(DydxVenue(settings), settings)) as _:
            await poll_until(lambda: subscribed(server) == {"BTC-USD", "ETH-USD"})
            await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
            assert server.ledger.totals.count == 2  # recorded when the history carried them
            server.submit(liq(server, "BTC-USD", qty="5"))
            await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
            opened = server.stats["connections_opened"]
            await server.drop_all("drop")  # the history comes again with every subscribe
            await poll_until(lambda: server.stats["connections_opened"] > opened)
            await poll_until(lambda: subscribed(server) == {"BTC-USD", "ETH-USD"})
            server.submit(liq(server, "ETH-USD", qty="7"))
            ids = await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
            assert server.ledger.totals.count == 4 and set(ids.values()) == {1}
            await status_is(redis, keys.collector_status("dydx"), reconnects="1")


async def test_dust_is_counted_at_zero_dollars(redis: Redis, redis_url: str, keys: Keys) -> None:
    async with dydx(redis_url, dust_fraction=1.0) as (server, _):
        server.submit(liq(server, "BTC-USD"))
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
    ((_, fields),) = await redis.xrange(keys.events)
    assert (fields["usd"], fields["qty"]) == ("0.00", "0.000000001")
    assert server.ledger.totals.by_venue_side == {"dydx/long": [1, 0]}


async def test_server_pings_are_answered_and_broken_frames_dead_lettered(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    async with dydx(redis_url, ping_interval=0.1, pong_timeout=0.5) as (server, service):
        rng = random.Random(5)
        for kind in ("invalid_json", "missing_field", "negative", "nan", "wrong_type", "oversize"):
            server.send_malformed(liq(server, "SOL-USD"), kind, rng)
        server.submit(liq(server, "SOL-USD"))
        server.resend(rng, 0)  # the same frame again: one event
        await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
        await poll_until(lambda: service.deadletters.count == 6)
        await asyncio.sleep(0.5)  # several server pings go by
        assert server.stats["heartbeat_timeouts"] == 0
        await status_is(redis, keys.collector_status("dydx"), reconnects="0", deadletters="6")


async def test_the_venue_refuses_a_33rd_subscription_on_one_connection() -> None:
    markets = tuple(c.name for c in parse_coins() if "o" in c.flags)[:33]
    server = DydxServer(Ledger(), listing(markets), DydxOptions(), random.Random(3))
    async with serving(server), connect(f"ws://127.0.0.1:{server.port}/v4/ws") as ws:
        assert orjson.loads(await ws.recv())["type"] == "connected"
        for market in sorted(server.listed):
            await ws.send(orjson.dumps({"type": "subscribe", "channel": "v4_trades", "id": market}))
        replies = [orjson.loads(await ws.recv()) for _ in range(33)]
    assert [r["type"] for r in replies].count("subscribed") == MAX_TRADES_SUBSCRIPTIONS
    assert replies[-1]["type"] == "error" and "max" in replies[-1]["message"]


async def test_a_refused_market_is_asked_for_three_times_then_left_alone(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    options = DydxOptions(refused=frozenset({"ADA-USD"}))
    server = DydxServer(Ledger(), listing(("BTC", "ADA")), options, random.Random(3))
    async with serving(server):
        settings = DydxSettings(
            redis_url=redis_url,
            dydx_ws_url=f"ws://127.0.0.1:{server.port}/v4/ws",
            dydx_rest_url=f"http://127.0.0.1:{server.port}",
            dydx_resubscribe_pause_seconds=0.1,
            **FAST,
        )
        async with running(CollectorService(DydxVenue(settings), settings)):
            await poll_until(lambda: server.stats["subscribes_refused"] == 3)
            await poll_until(lambda: subscribed(server) == {"BTC-USD"})
            server.submit(liq(server, "BTC-USD"))
            await stream_equals_ledger(redis, keys, server.ledger, exchange_of)
            status = await status_is(redis, keys.collector_status("dydx"), connected="1")
            assert status["reconnects"] == "0" and int(status["venue_errors"]) == 3
            notes = orjson.loads(status["notes"])
            assert notes["markets"] == "2" and notes["markets_refused"] == "ADA-USD"
    assert server.stats["subscribes_refused"] == 3
