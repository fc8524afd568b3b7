"""The simulated Deribit venue -> the Deribit collector (in-process) -> the test Redis.

The simulator flags liquidation trades `T`, `M` or `MT` (one trade, two liquidations in the
ledger) among ordinary trades, batched per currency channel every 100 ms; the collector must
write exactly the ledger's liquidations once each (matched by instrument, side, time and
cents), answer every heartbeat `test_request`, and survive re-sent and broken frames."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon_deribit.settings import DeribitSettings
from liqmon_deribit.venue import DeribitVenue
from liqmon_sim.catalog import Catalog
from liqmon_sim.ledger import Ledger
from liqmon_sim.venues import deribit
from tests.collectors.conftest import FAST, stream_events
from tests.collectors.servers import poll_until, running, status_is
from tests.sim.venue_servers import Liquidations, serving

CATALOG = Catalog()


def server(**options: Any) -> deribit.DeribitServer:
    return deribit.DeribitServer(
        Ledger(), CATALOG, deribit.DeribitOptions(**options), random.Random(11)
    )


@asynccontextmanager
async def collecting(
    venue: deribit.DeribitServer, redis_url: str, **over: Any
) -> AsyncIterator[tuple[CollectorService, DeribitVenue]]:
    async with serving(venue):
        settings = DeribitSettings(
            redis_url=redis_url,
            deribit_ws_url=f"ws://127.0.0.1:{venue.port}/ws/api/v2",
            deribit_rest_url=f"http://127.0.0.1:{venue.port}",
            deribit_ping_seconds=0.5,
            **{**FAST, **over},
        )
        collector = DeribitVenue(settings)
        service = CollectorService(collector, settings)
        async with running(service):
            await poll_until(venue.has_audience)  # load starts once the collector subscribed
            yield service, collector


def send(venue: deribit.DeribitServer, liqs: Liquidations, n: int) -> None:
    for _ in range(n):
        venue.submit(liqs.of(liqs.pick(deribit.VENUES)))


def _reaches(redis: Redis, keys: Keys, n: int) -> Any:
    async def check() -> bool:
        return int(await redis.xlen(keys.events)) >= n

    return check


async def assert_stream_equals_ledger(
    redis: Redis, keys: Keys, venue: deribit.DeribitServer
) -> None:
    await poll_until(lambda: not venue.pending)  # the ledger records a batch when it leaves
    counted = [e for e in venue.ledger.entries if e.counted]
    await poll_until(_reaches(redis, keys, len(counted)), 15)
    unique = {e.id: e for e in await stream_events(redis, keys)}
    assert len(unique) == len(counted)
    got = Counter((e.product, e.instrument, e.side, e.ts, e.usd_cents) for e in unique.values())
    assert got == Counter((e.venue, e.instrument, e.side, e.ts, e.cents) for e in counted)
    assert all(e.exchange == "deribit" and not e.sampled for e in unique.values())


async def test_m_t_and_mt_liquidations_arrive_once_each(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    venue = server(maker_share=0.3, both_share=0.2)
    async with collecting(venue, redis_url) as (service, _):
        send(venue, Liquidations(CATALOG, 1), 200)
        await assert_stream_equals_ledger(redis, keys, venue)
        assert service.deadletters.count == 0
    counted = [e for e in venue.ledger.entries if e.counted]
    assert len(counted) > 200  # each MT trade is two liquidations
    assert {e.venue for e in counted} == {"deribit-inverse", "deribit-linear"}


async def test_resent_and_broken_frames_change_nothing(
    redis: Redis, redis_url: str, keys: Keys
) -> None:
    venue = server()
    liqs = Liquidations(CATALOG, 2)
    rng = liqs.rng
    async with collecting(venue, redis_url) as (service, _):
        send(venue, liqs, 40)
        await poll_until(lambda: not venue.pending)
        for _ in range(10):
            assert venue.resend(rng, 0)
        kinds = ("invalid_json", "wrong_type", "missing_field", "negative", "zero", "nan",
                 "huge", "oversize")  # fmt: skip
        for kind in kinds:
            venue.send_malformed(liqs.of(liqs.pick(deribit.VENUES)), kind, rng)
        send(venue, liqs, 10)
        await assert_stream_equals_ledger(redis, keys, venue)
        await poll_until(lambda: service.deadletters.count == len(kinds))


async def test_every_test_request_is_answered(redis: Redis, redis_url: str, keys: Keys) -> None:
    venue = server(heartbeat_seconds=0.1, heartbeat_grace=0.4)
    async with collecting(venue, redis_url) as (_, collector):
        await poll_until(lambda: venue.stats["test_requests"] >= 20, 15)
        await poll_until(lambda: venue.stats["test_answers"] >= 20)
        status = await status_is(redis, keys.collector_status("deribit"), connected="1")
        assert status["reconnects"] == "0" and venue.stats["heartbeat_closes"] == 0
        assert collector.answered >= 20 and collector.notes()["channels_missing"] == "none"


async def test_a_dropped_connection_resubscribes(redis: Redis, redis_url: str, keys: Keys) -> None:
    venue = server()
    liqs = Liquidations(CATALOG, 3)
    async with collecting(venue, redis_url) as (service, _):
        send(venue, liqs, 20)
        await assert_stream_equals_ledger(redis, keys, venue)
        await venue.drop_all("abort")
        await poll_until(lambda: service.status.counters.reconnects >= 1)
        await poll_until(venue.has_audience)
        send(venue, liqs, 20)
        await assert_stream_equals_ledger(redis, keys, venue)
