"""The durable collector markers (`collector:<ex>:alive`, `collector:<ex>:first-start`)
against the real test Redis: which restarts record a gap, and which do not.

The end-to-end cases (a SIGKILLed process, a clean stop longer than the status TTL) are
tests/collectors/test_unreported_outages.py; these drive `CollectorStatus` directly to reach the
replica cases a single process cannot."""

from __future__ import annotations

from redis.asyncio import Redis

from liqmon.clock import now_ms
from liqmon.collector.status import CollectorStatus
from liqmon.keys import Keys
from tests.collectors.servers import poll_until

FEED = "binance-usdm"


def _status(keys: Keys) -> CollectorStatus:
    status = CollectorStatus("binance", keys, retention_ms=10**9, interval_seconds=0.05)
    status.add_feed(FEED, "ws://x")
    return status


async def _running(redis: Redis, keys: Keys) -> CollectorStatus:
    """A collector that starts, connects and publishes (so it refreshes the markers)."""
    status = _status(keys)
    await status.load_previous(redis)
    status.connected(FEED)
    assert await status.publish(redis)
    return status


async def _gaps(redis: Redis, keys: Keys) -> list[str]:
    members: list[str] = await redis.zrange(keys.collector_gaps("binance"), 0, -1)
    return members


async def test_first_connect_sets_first_start_once_and_alive_each_publish(
    redis: Redis, keys: Keys
) -> None:
    first = await _running(redis, keys)
    started = await redis.get(keys.collector_first_start("binance"))
    assert started == str(first.first_connect)
    assert int(await redis.get(keys.collector_alive("binance"))) >= first.first_connect
    await _running(redis, keys)  # a later run (or a replica) keeps the first start
    assert await redis.get(keys.collector_first_start("binance")) == started
    assert await _gaps(redis, keys) == []  # held until the replica check, not recorded yet


async def test_restart_within_the_ttl_after_a_kill_records_the_gap(
    redis: Redis, keys: Keys
) -> None:
    await _running(redis, keys)  # killed: its hash still says connected=1 (not expired)
    marker = int(await redis.get(keys.collector_alive("binance")))
    restarted = _status(keys)
    await restarted.load_previous(redis)
    restarted.connected(FEED)

    async def recorded() -> bool:
        await restarted.publish(redis)
        return bool(await _gaps(redis, keys))

    await poll_until(recorded, timeout=5)  # nobody refreshed the marker: it was an outage
    [gap] = await _gaps(redis, keys)
    assert gap == f"{marker}:{restarted.first_connect}"


async def test_live_replica_refreshing_the_marker_means_no_gap(redis: Redis, keys: Keys) -> None:
    replica = await _running(redis, keys)
    marker = await redis.get(keys.collector_alive("binance"))  # the replica's last publish
    joining = _status(keys)
    await joining.load_previous(redis)
    joining.connected(FEED)
    assert await joining.publish(redis)  # held: the hash says another collector is connected
    assert await redis.get(keys.collector_alive("binance")) == marker  # not refreshed by us
    await poll_until(lambda: now_ms() > joining.started, timeout=1)
    assert await replica.publish(redis)  # the replica's heartbeat after our start
    assert await joining.publish(redis)
    await poll_until(lambda: now_ms() - joining.started > joining.confirm_ms, timeout=2)
    assert await joining.publish(redis)
    assert await _gaps(redis, keys) == []


async def test_stop_longer_than_the_ttl_records_the_gap_from_the_marker(
    redis: Redis, keys: Keys
) -> None:
    await _running(redis, keys)
    await redis.set(keys.collector_alive("binance"), "1790000000000")  # stopped overnight
    await redis.delete(keys.collector_status("binance"))  # its status expired
    later = await _running(redis, keys)
    assert await _gaps(redis, keys) == [f"1790000000000:{later.first_connect}"]
