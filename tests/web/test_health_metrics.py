"""/api/health states (ok, degraded, down) and /metrics text, from the status contracts."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from liqmon.collector.status import CollectorStatus
from liqmon.embedded_redis import EmbeddedRedis
from liqmon.keys import AGGREGATOR_GROUP, Keys
from liqmon.venues import VENUES
from liqmon_web.models import Health
from liqmon_web.settings import WebSettings
from tests.web.conftest import Web
from tests.web.helpers import live_server, make_event, now_ms, settings_for, xadd_now

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (\S+)$')


async def set_collector(redis: Redis, keys: Keys, exchange: str, **fields: str) -> None:
    now = now_ms()
    status = {
        "exchange": exchange, "connected": "1", "since": str(now - 60_000),
        "last_frame_ts": str(now - 100), "last_event_ts": str(now - 2_000), "events": "42",
        "errors": "1", "deadletters": "1", "reconnects": "3", "last_error": "",
        "buffered": "0", "buffer_dropped": "0", "held": "0", "gap_open_since": "",
        "updated": str(now), "pid": "1234", "connections": orjson.dumps(["wss://x"]).decode(),
    }  # fmt: skip
    status.update(fields)
    await redis.hset(keys.collector_status(exchange), mapping=status)
    await redis.expire(keys.collector_status(exchange), 30)


async def heartbeat(redis: Redis, keys: Keys) -> None:
    await redis.zadd(keys.aggregator_consumers, {"agg-1": now_ms()})


async def test_ok_when_everything_runs(web: Web, redis: Redis, keys: Keys) -> None:
    await set_collector(redis, keys, "binance")
    await set_collector(redis, keys, "okx")
    await redis.zadd(keys.collector_gaps("okx"), {"1000:2000": 2000})
    await heartbeat(redis, keys)
    body = (await web.client.get("/api/health")).json()
    Health.model_validate(body)
    assert body["status"] == "ok", body["reasons"]
    assert set(body["collectors"]) == {"binance", "okx"}  # bybit: never ran, not expected
    okx = body["collectors"]["okx"]
    assert okx["connected"] is True and okx["events"] == 42 and okx["gap_open_since"] is None
    assert okx["gaps"] == [{"start": 1000, "end": 2000}]
    assert 1_000 <= okx["last_event_age_ms"] < 60_000
    assert okx["connections"] == ["wss://x"]


def replica(keys: Keys, host: str, *, connected: bool) -> CollectorStatus:
    status = CollectorStatus("okx", keys, retention_ms=10**9, host=host)
    status.add_feed("okx-swap", "wss://x")
    if connected:
        status.connected("okx-swap")
    return status


async def test_health_reads_a_venues_connection_from_its_replicas_not_the_last_writer(
    web: Web, redis: Redis, keys: Keys
) -> None:
    """Two replicas share okx's status hash, so its `connected` is whoever wrote last (it
    flipped every 2 s when one replica was down). Health counts the replicas that published
    in the last 30 s and those with every connection up: the venue is connected while any
    is, and a disconnected replica is named as a reason."""
    a, b = replica(keys, "replica-a", connected=True), replica(keys, "replica-b", connected=False)
    assert await a.publish(redis) and await b.publish(redis)  # b last: the hash says "0"
    assert await redis.hget(keys.collector_status("okx"), "connected") == "0"
    body = (await web.client.get("/api/health")).json()
    Health.model_validate(body)
    okx = body["collectors"]["okx"]
    assert (okx["connected"], okx["replicas"], okx["replicas_connected"]) == (True, 2, 1)
    assert "okx: 1 of 2 collector replicas disconnected" in body["reasons"]
    assert "okx collector disconnected" not in body["reasons"]
    assert body["collectors"]["binance"]["replicas"] == 0  # never ran
    metrics = (await web.client.get("/metrics")).text.splitlines()
    assert 'liqmon_collector_replicas{exchange="okx"} 2.0' in metrics
    assert 'liqmon_collector_replicas_connected{exchange="okx"} 1.0' in metrics
    assert 'liqmon_collector_connected{exchange="okx"} 1.0' in metrics
    await a.publish(redis, final=True)  # the connected replica stops cleanly
    assert await b.publish(redis)
    body = (await web.client.get("/api/health")).json()
    okx = body["collectors"]["okx"]
    assert (okx["connected"], okx["replicas"], okx["replicas_connected"]) == (False, 1, 0)
    assert "okx collector disconnected" in body["reasons"]


async def test_no_event_yet_has_no_age(web: Web, redis: Redis, keys: Keys) -> None:
    """A collector's status says last_event_ts 0 until its first event; the dashboard
    showed that as an event 20,000 days ago."""
    await set_collector(redis, keys, "bitfinex", last_event_ts="0")
    body = (await web.client.get("/api/health")).json()
    assert body["collectors"]["bitfinex"]["last_event_age_ms"] is None


async def test_degraded_names_each_problem(web: Web, redis: Redis, keys: Keys) -> None:
    await set_collector(redis, keys, "binance", connected="0", last_error="timeout")
    await set_collector(redis, keys, "bybit")
    body = (await web.client.get("/api/health")).json()
    assert body["status"] == "degraded"
    assert body["reasons"] == [
        "binance collector disconnected",
        "okx collector not running",
        "no aggregator running (no heartbeat in 30 s)",
    ]
    assert set(body["collectors"]) == {"binance", "okx", "bybit"}
    assert {n: c["sampled"] for n, c in body["collectors"].items()} == {
        "binance": True, "okx": True, "bybit": False,
    }  # fmt: skip
    assert body["collectors"]["binance"]["last_error"] == "timeout"
    assert body["collectors"]["okx"]["up"] is False


async def test_a_collectors_notes_are_passed_through(web: Web, redis: Redis, keys: Keys) -> None:
    notes = {"side_convention": "position", "side_matched": "12"}
    await set_collector(redis, keys, "binance", notes=orjson.dumps(notes).decode())
    await set_collector(redis, keys, "okx", notes="{broken")
    body = (await web.client.get("/api/health")).json()
    Health.model_validate(body)
    assert body["collectors"]["binance"]["notes"] == notes
    assert body["collectors"]["okx"]["notes"] is None


async def test_degraded_when_the_aggregator_lags(redis_url: str, redis: Redis, keys: Keys) -> None:
    for ex in ("binance", "okx"):
        await set_collector(redis, keys, ex)
    await heartbeat(redis, keys)
    await xadd_now(redis, keys, [make_event(salt=i) for i in range(8)])
    await redis.xgroup_create(keys.events, AGGREGATOR_GROUP, id="0")
    settings = settings_for(redis_url, web_max_aggregator_lag=5)
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        body = (await client.get("/api/health")).json()
    assert body["status"] == "degraded"
    assert body["reasons"] == ["aggregator lags by 8 entries"]
    assert body["aggregator"]["lag"] == 8


async def test_expected_collectors_are_configurable(
    redis_url: str, redis: Redis, keys: Keys
) -> None:
    await set_collector(redis, keys, "okx")
    await heartbeat(redis, keys)
    settings = settings_for(redis_url, web_expected_collectors="okx")
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        body = (await client.get("/api/health")).json()
    assert body["status"] == "ok"
    assert set(body["collectors"]) == {"okx"}


def test_every_venue_of_the_registry_is_expected_by_default(redis_url: str) -> None:
    settings = WebSettings(redis_url=redis_url)
    assert settings.web_expected_collectors == [v.exchange for v in VENUES]


async def test_venues_lists_the_registry(web: Web) -> None:
    body = (await web.client.get("/api/venues")).json()
    assert [v["exchange"] for v in body] == [v.exchange for v in VENUES]
    bybit = next(v for v in body if v["exchange"] == "bybit")
    assert bybit == {
        "exchange": "bybit", "name": "Bybit", "products": ["bybit-linear", "bybit-inverse"],
        "sampled": False,
    }  # fmt: skip


async def test_down_when_redis_stops_and_back_when_it_returns(redis: Redis) -> None:
    other = EmbeddedRedis(None, persistent=False)
    other.start()
    try:
        async with (
            live_server(settings_for(other.url)) as server,
            httpx.AsyncClient(base_url=server.url) as client,
        ):
            assert (await client.get("/api/health")).json()["status"] == "degraded"
            other.stop()
            resp = await client.get("/api/health")
            assert resp.status_code == 200
            body = resp.json()
            assert body["status"] == "down"
            assert body["reasons"][0].startswith("redis unreachable")
            metrics = (await client.get("/metrics")).text
            assert "liqmon_redis_up 0" in metrics
            other.start()
            assert (await client.get("/api/health")).json()["status"] == "degraded"
    finally:
        other.stop()


async def test_metrics_text_parses(web: Web, redis: Redis, keys: Keys) -> None:
    await set_collector(redis, keys, "binance", events="1234", reconnects="7")
    await heartbeat(redis, keys)
    await xadd_now(redis, keys, [make_event()])
    resp = await web.client.get("/metrics")
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: dict[str, float] = {}
    declared: dict[str, str] = {}
    for line in resp.text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            declared[name] = kind
            continue
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        assert match.group(1) in declared, f"sample before its TYPE: {line!r}"
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(4))
    assert samples['liqmon_collector_events_total{exchange="binance"}'] == 1234
    assert samples['liqmon_collector_reconnects_total{exchange="binance"}'] == 7
    assert samples['liqmon_collector_up{exchange="okx"}'] == 0
    assert samples["liqmon_redis_up"] == 1
    assert samples["liqmon_web_sse_clients"] == 0
    assert samples["liqmon_aggregator_alive"] == 1
    assert declared["liqmon_web_sse_dropped_slow_total"] == "counter"


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="no promtool (apt-get install prometheus)")
async def test_metrics_pass_promtool_check_metrics(web: Web, redis: Redis, keys: Keys) -> None:
    # Every family present: collectors (one up, one missing), aggregator, web counters.
    await set_collector(redis, keys, "binance", last_error='quote " and \\ backslash')
    await heartbeat(redis, keys)
    await xadd_now(redis, keys, [make_event()])
    text = (await web.client.get("/metrics")).content
    assert b"liqmon_collector_up" in text and b"liqmon_aggregator_alive" in text
    assert PROMTOOL is not None
    check = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, timeout=30, check=False
    )
    # promtool exits 1 on lint problems too, and 3 on a parse error; print both streams.
    assert check.returncode == 0, (check.stdout + check.stderr).decode()


def test_label_values_are_escaped() -> None:
    # A label value with a quote, a backslash and a newline must not break the text format.
    from prometheus_client.parser import text_string_to_metric_families

    from liqmon_web.metrics import render

    class Stub:
        clients = connections_total = dropped_slow = rejected = events_read = 0
        malformed = reader_errors = reads = errors = pushes = 0
        position = None

    Stub.cache = Stub()  # type: ignore[attr-defined]

    odd = 'x"y\\z\nw'
    health = {"redis": {"ok": True}, "collectors": {odd: {"up": True, "connected": False}}}
    text = render(health, Stub(), Stub()).decode()  # type: ignore[arg-type]
    families = {f.name: f for f in text_string_to_metric_families(text)}
    [sample] = families["liqmon_collector_up"].samples
    assert sample.labels == {"exchange": odd}
