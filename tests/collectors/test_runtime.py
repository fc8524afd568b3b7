"""Runtime pieces against the real test Redis: the batch appender, status fields, gaps."""

from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from liqmon.bus import append_events
from liqmon.clock import now_ms
from liqmon.collector.deadletters import DeadLetters
from liqmon.collector.frames import Held, SpecMissing, parse
from liqmon.collector.held import HoldQueue
from liqmon.collector.instruments import SpecCache, SpecFetchError
from liqmon.collector.service import CollectorService
from liqmon.collector.status import CollectorStatus
from liqmon.collector.streamwrite import StreamAppender
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.event import LiquidationEvent
from liqmon.keys import Keys
from liqmon.redis_client import create_redis
from liqmon_binance.parser import USDM, ForceOrderParser
from liqmon_binance.venue import BinanceVenue
from tests.collectors.conftest import binance_settings, stream_events
from tests.collectors.servers import LoopbackVenue, poll_until, running, status_is, stream_reaches
from tests.collectors.test_binance_collector import REST, connected
from tests.collectors.test_binance_collector import USDM as USDM_PATH
from tests.collectors.wire import BASE_TS, binance_frame

#: The status hash fields the web service and dashboard read (a contract).
STATUS_FIELDS = {
    "exchange", "connected", "since", "last_frame_ts", "last_event_ts", "events", "errors",
    "deadletters", "reconnects", "last_error", "buffered", "buffer_dropped", "held",
    "gap_open_since", "updated", "pid", "connections",
}  # fmt: skip


async def test_batch_appender_writes_entries_identical_to_bus_append_events(
    redis: Redis, keys: Keys
) -> None:
    parser = ForceOrderParser(USDM, {})
    events = [parse(parser, binance_frame(i, symbol=s), BASE_TS)[0] for i, s in
              enumerate(["BTCUSDT", "1000PEPEUSDT", "牛来USDT", "ETHUSDC"])]  # fmt: skip
    other = Keys("other")
    await append_events(redis, other, events, retention_ms=10**12)
    added = await StreamAppender(redis, keys, retention_ms=10**12).append(events)
    assert added == 4
    ours = [fields for _, fields in await redis.xrange(keys.events)]
    theirs = [fields for _, fields in await redis.xrange(other.events)]
    assert ours == theirs and [list(f) for f in ours] == [list(f) for f in theirs]  # same order
    assert await stream_events(redis, keys) == events


async def test_status_fields_and_inherited_gap(redis: Redis, redis_url: str, keys: Keys) -> None:
    key = keys.collector_status("binance")
    await redis.hset(key, mapping={"gap_open_since": "1790000000000"})  # a previous run's outage
    async with LoopbackVenue(REST) as venue:
        settings = binance_settings(redis_url, venue.ws_base, venue.http_base)
        async with running(CollectorService(BinanceVenue(settings), settings)):
            await connected(venue)
            status = await status_is(redis, key, connected="1", gap_open_since="")
    assert set(status) >= STATUS_FIELDS
    gaps = await redis.zrange(keys.collector_gaps("binance"), 0, -1)
    # both feeds (USDⓈ-M, COIN-M) inherit the gap; they are recorded as one unless a status
    # publish fell between their two connects, and no gap starts anywhere else
    assert 1 <= len(gaps) <= 2 and all(g.startswith("1790000000000:") for g in gaps)


def test_a_feed_that_never_connected_holds_the_gap_open() -> None:
    status = CollectorStatus("okx", Keys("liq"), retention_ms=10**9)
    status.add_feed("okx-swap+futures", "ws://x")
    fields = status.fields()
    assert fields["connected"] == "0" and fields["gap_open_since"] == str(status.started)


async def test_full_buffer_drops_new_events_and_counts_them(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", persistent=False)  # not started: Redis is away
    keys = Keys("liq")
    async with LoopbackVenue(REST) as venue:
        settings = binance_settings(
            server.url, venue.ws_base, venue.http_base, collector_buffer_max=100
        )
        service = CollectorService(BinanceVenue(settings), settings)
        async with running(service):
            await connected(venue)
            for i in range(150):
                await venue.broadcast(binance_frame(i), USDM_PATH)
            await poll_until(lambda: service.writer.dropped == 50)
            assert service.writer.buffered == 100
            await asyncio.to_thread(server.start)
            try:
                redis = create_redis(server.url)
                await stream_reaches(redis, keys, 100)
                status = await status_is(redis, keys.collector_status("binance"), buffered="0")
                events = await stream_events(redis, keys)
                await redis.aclose()
            finally:
                server.stop()
    assert [e.ts for e in events] == [BASE_TS + i for i in range(100)]  # the oldest 100, in order
    assert status["buffer_dropped"] == "50"


def test_held_liquidations_expire_only_after_a_successful_spec_load() -> None:
    async def unreachable() -> dict[str, object]:
        raise SpecFetchError("down")

    def still_missing() -> LiquidationEvent:
        raise SpecMissing("NEW-USDT-SWAP")

    letters = DeadLetters("collector-test")
    queue = HoldQueue(lambda events: None, letters.record, max_age_seconds=0)
    cache: SpecCache[object] = SpecCache("specs", unreachable)
    queue.hold([Held("NEW-USDT-SWAP", "{raw}", "ctx", still_missing)], [cache])
    queue.retry()
    assert len(queue) == 1 and letters.count == 0  # REST never answered: not known to be bogus
    cache.load({})  # a successful load that still does not list it
    queue.retry()
    assert len(queue) == 0 and letters.count == 1


async def test_feeds_that_inherit_one_gap_record_it_once(redis: Redis, keys: Keys) -> None:
    status = CollectorStatus("binance", keys, retention_ms=10**9)
    status.inherit_gap(1_790_000_000_000)
    for product in ("usdm", "coinm"):
        status.add_feed(product, "ws://x")
    status.connected("usdm")
    first = now_ms()
    while now_ms() == first:  # the second feed connects in a later millisecond
        pass
    status.connected("coinm")
    await status.publish(redis)
    gaps = await redis.zrange(keys.collector_gaps("binance"), 0, -1, withscores=True)
    assert len(gaps) == 1  # the exchange's gap is the union: one record, the later end
    assert gaps[0][0].startswith("1790000000000:") and gaps[0][1] > first
