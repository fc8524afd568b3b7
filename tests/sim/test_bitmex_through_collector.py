"""The simulated BitMEX venue -> the BitMEX collector (in-process) -> the test Redis.

The simulator books liquidation orders with BitMEX's lifecycle (inserts, growing updates
when a liquidation merges into a resting unfilled order, fills, re-pricing, deletes) and its
ledger lists each insert and each growth; the collector must write exactly those, once
each, with the ledger's USD, through re-sent frames, broken frames and dropped connections.
BitMEX sends no time, so an event's `ts` is its receive time: it is matched to the ledger by
(instrument, side, cents) and its `ts` must lie between emission and arrival."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis

from liqmon.clock import now_ms
from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon_bitmex.settings import BitmexSettings
from liqmon_bitmex.venue import BitmexVenue
from liqmon_sim.catalog import Catalog
from liqmon_sim.ledger import Ledger
from liqmon_sim.venues import bitmex
from tests.collectors.conftest import FAST, stream_events
from tests.collectors.servers import poll_until, running, status_is
from tests.sim.venue_servers import Liquidations, serving

CATALOG = Catalog()
INSTRUMENTS = [i for v in bitmex.VENUES for i in CATALOG.instruments(v)]


def server(**options: Any) -> bitmex.BitmexServer:
    return bitmex.BitmexServer(Ledger(), CATALOG, bitmex.BitmexOptions(**options), random.Random(7))


@asynccontextmanager
async def collecting(
    venue: bitmex.BitmexServer, redis_url: str, **over: Any
) -> AsyncIterator[CollectorService]:
    async with serving(venue):
        settings = BitmexSettings(
            redis_url=redis_url,
            bitmex_ws_url=f"ws://127.0.0.1:{venue.port}/realtime",
            bitmex_rest_url=f"http://127.0.0.1:{venue.port}",
            bitmex_ping_seconds=0.3,
            **{**FAST, **over},
        )
        service = CollectorService(BitmexVenue(settings), settings)
        async with running(service):
            await poll_until(venue.has_audience)  # load starts once the collector subscribed
            yield service


def send(venue: bitmex.BitmexServer, liqs: Liquidations, n: int) -> None:
    """`n` liquidations, most on a few instruments so that resting orders grow."""
    hot = [i for i in INSTRUMENTS if i.inst_id in ("XBTUSD", "XBTUSDT", "ETHUSD")]
    for _ in range(n):
        rng = liqs.rng
        inst = rng.choice(hot) if rng.random() < 0.7 else rng.choice(INSTRUMENTS)
        venue.submit(liqs.of(inst))


async def assert_stream_equals_ledger(redis: Redis, keys: Keys, venue: bitmex.BitmexServer) -> None:
    counted = [e for e in venue.ledger.entries if e.counted]
    await poll_until(lambda: redis.xlen(keys.events), 1)
    await poll_until(_reaches(redis, keys, len(counted)), 15)
    await poll_until(lambda: not venue.book, 15)  # fills and deletes done: nothing more counts
    events = await stream_events(redis, keys)
    unique = {e.id: e for e in events}
    assert len(unique) == len(counted)
    got = Counter((e.instrument, e.side, e.usd_cents) for e in unique.values())
    assert got == Counter((e.instrument, e.side, e.cents) for e in counted)
    emitted = {(e.instrument, e.side, e.cents): e.emitted_ms for e in counted}
    for event in unique.values():
        assert event.exchange == "bitmex" and not event.sampled
        assert event.ts == event.recv_ts >= emitted[(event.instrument, event.side, event.usd_cents)]
        assert event.product == bitmex_product(event.instrument)


def bitmex_product(instrument: str) -> str:
    return next(i.venue for i in INSTRUMENTS if i.inst_id == instrument)


def _reaches(redis: Redis, keys: Keys, n: int) -> Any:
    async def check() -> bool:
        return int(await redis.xlen(keys.events)) >= n

    return check


async def test_inserts_and_growths_arrive_once_each_with_the_ledger_usd(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    venue = server(merge_probability=0.6)
    async with collecting(venue, redis_url) as service:
        send(venue, Liquidations(CATALOG, 1), 150)
        await assert_stream_equals_ledger(redis, keys, venue)
        assert venue.stats["growths"] >= 20 and venue.stats["inserts"] >= 50
        assert service.deadletters.count == 0
        products = {bitmex_product(e.instrument) for e in venue.ledger.entries}
        assert products == {"bitmex-inverse", "bitmex-linear", "bitmex-quanto"}


async def test_resent_and_broken_frames_change_nothing(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    venue = server()
    liqs = Liquidations(CATALOG, 2)
    rng = liqs.rng
    async with collecting(venue, redis_url) as service:
        send(venue, liqs, 40)
        for _ in range(10):
            assert venue.resend(rng, 0)
        kinds = ("invalid_json", "wrong_type", "missing_field", "negative", "zero", "nan",
                 "huge", "oversize")  # fmt: skip
        for kind in kinds:
            venue.send_malformed(liqs.of(INSTRUMENTS[0]), kind, rng)
        send(venue, liqs, 10)
        await assert_stream_equals_ledger(redis, keys, venue)
        assert venue.ledger.totals.duplicates == 10
        await poll_until(lambda: service.deadletters.count == len(kinds))


async def test_a_dropped_connection_recovers_from_the_snapshot(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    venue = server(fill_delay_ms=60_000)  # orders rest: the snapshot after the drop has them
    liqs = Liquidations(CATALOG, 3)
    async with collecting(venue, redis_url, collector_backoff_initial_seconds=0.3) as service:
        send(venue, liqs, 20)
        await poll_until(_reaches(redis, keys, venue.ledger.totals.count))
        await venue.drop_all("drop")
        send(venue, liqs, 20)  # inserts and growths while nobody listens: nowhere in the ledger
        assert venue.stats["undelivered"] >= 1
        await poll_until(venue.has_audience)
        send(venue, liqs, 20)
        venue.options.fill_delay_ms = 0
        for order in venue.book.values():
            order.next_ms = 0
        await assert_stream_equals_ledger(redis, keys, venue)
        assert service.status.counters.reconnects >= 1
        assert venue.stats["snapshot_recorded"] >= 1  # rows the collector learnt from the partial


async def test_pings_keep_a_quiet_connection(redis: Redis, redis_url: str, keys: Keys) -> None:
    venue = server()
    async with collecting(venue, redis_url):
        await poll_until(lambda: venue.stats["pings"] >= 4, 10)
        status = await status_is(redis, keys.collector_status("bitmex"), connected="1")
        assert status["reconnects"] == "0" and venue.stats["connections_opened"] == 1


async def test_quanto_uses_the_published_xbt_price(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    venue = server()
    ethusd = next(i for i in INSTRUMENTS if i.inst_id == "ETHUSD")
    async with collecting(venue, redis_url) as service:
        liq = Liquidations(CATALOG, 4).of(ethusd, "short", 5000)
        venue.submit(liq)
        await poll_until(_reaches(redis, keys, 1))
        (event,) = await stream_events(redis, keys)
        # contracts × 100 × XBT/USD ÷ 10^8 ETH
        assert event.qty == liq.qty * 100 * bitmex.XBT_USD / Decimal(100_000_000)
        assert event.usd_cents == int(liq.usd * 100) and event.ts <= now_ms()
        notes = service.venue.notes()  # what /api/health shows
        assert notes["quanto_xbt_usd"] == f"{bitmex.XBT_USD} (live instrument:XBTUSD)"


async def test_a_refused_price_table_falls_back_to_the_listing(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    venue = server(topics=("liquidation",))  # instrument:XBTUSD refused
    ethusd = next(i for i in INSTRUMENTS if i.inst_id == "ETHUSD")
    async with collecting(venue, redis_url) as service:
        liq = Liquidations(CATALOG, 5).of(ethusd, "long", 2000)
        venue.submit(liq)
        await poll_until(_reaches(redis, keys, 1))
        (event,) = await stream_events(redis, keys)
        assert event.usd_cents == int(liq.usd * 100)
        notes = service.venue.notes()
        assert notes["quanto_xbt_usd"] == f"{bitmex.XBT_USD} (instrument list mark price)"
        assert service.status.counters.reconnects == 0
