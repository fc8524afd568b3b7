"""Summary, symbol and series endpoints against the real read model; HTTP hygiene."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from liqmon import views
from liqmon.bus import append_events
from liqmon.keys import Keys
from liqmon_aggregator.testing import drain
from liqmon_web.models import Health, SeriesPoint, Summary, SymbolView
from tests.web.conftest import Web
from tests.web.helpers import live_server, now_ms, random_events, settings_for

RETENTION_MS = 48 * 3_600_000


@pytest.fixture
async def folded(redis_url: str, redis: Redis, keys: Keys) -> None:
    """Events over the last 50 minutes, folded into the windows by the real aggregator."""
    events = random_events(300, start_ms=now_ms() - 50 * 60_000, step_ms=10_000)
    await append_events(redis, keys, events, retention_ms=RETENTION_MS)
    await drain(redis_url, prefix="liq")


def without_as_of(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "as_of"}


async def test_summary_is_the_read_model(web: Web, redis: Redis, keys: Keys, folded: None) -> None:
    for top in (10, 3, 100):
        body = (await web.client.get("/api/summary", params={"top": top})).json()
        expected = await views.read_summary(redis, keys, top=top)
        assert without_as_of(body) == without_as_of(expected)
        Summary.model_validate(body)
    assert body["windows"]["1h"]["long_count"] + body["windows"]["1h"]["short_count"] == 300
    assert len(body["windows"]["1h"]["top_long"]) == 5  # all coins, fewer than top


async def test_summary_is_cached_per_process(redis_url: str, redis: Redis) -> None:
    async with (
        live_server(settings_for(redis_url, web_summary_cache_ms=5000)) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        bodies = [(await client.get("/api/summary")).content for _ in range(20)]
        assert len(set(bodies)) == 1
        assert server.app.state.summary_cache.reads == 1


async def test_symbol_view(web: Web, redis: Redis, keys: Keys, folded: None) -> None:
    body = (await web.client.get("/api/symbols/btc")).json()
    assert body == await views.read_symbol(redis, keys, "BTC")
    SymbolView.model_validate(body)
    assert body["windows"]["1h"]["long_count"] + body["windows"]["1h"]["short_count"] > 0


async def test_series_defaults_to_the_last_hour(
    web: Web, redis: Redis, keys: Keys, folded: None
) -> None:
    body = (await web.client.get("/api/series")).json()
    assert 60 <= len(body) <= 61
    for point in body:
        SeriesPoint.model_validate(point)
    total = sum(p["long_usd"] + p["short_usd"] for p in body)
    window = (await views.read_summary(redis, keys))["windows"]["1h"]
    assert total == pytest.approx(window["long_usd"] + window["short_usd"], abs=0.05)
    one = (await web.client.get("/api/series", params={"symbol": "eth", "exchange": "okx"})).json()
    assert sum(p["long_usd"] for p in one) <= sum(p["long_usd"] for p in body)


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        ("/api/summary", {"top": 0}, "top"),
        ("/api/summary", {"top": 101}, "top"),
        ("/api/series", {"since": 10, "until": 5}, "since"),
        ("/api/series", {"since": 0, "until": 200_000_000}, "since"),
        ("/api/series", {"exchange": "binance,okx"}, "exchange"),
        ("/api/series", {"exchange": "ftx"}, "exchange"),
        ("/api/series", {"until": "soon"}, "until"),
        ("/api/symbols/" + "X" * 65, {}, "symbol"),
    ],
)
async def test_bad_parameters_are_422(
    web: Web, path: str, params: dict[str, Any], name: str
) -> None:
    resp = await web.client.get(path, params=params)
    assert resp.status_code == 422, resp.text
    assert f"'{name}'" in resp.json()["error"]


async def test_read_only(web: Web) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        resp = await web.client.request(method, "/api/liquidations")
        assert resp.status_code == 405, method
    head = await web.client.head("/api/summary")
    assert head.status_code == 200 and head.content == b""
    assert (await web.client.head("/api/stream")).status_code == 405  # never an endless HEAD
    assert (await web.client.request("OPTIONS", "/api/summary")).status_code == 405


async def test_cors_off_by_default(web: Web) -> None:
    resp = await web.client.get("/api/summary", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in resp.headers


async def test_cors_when_configured(redis_url: str, redis: Redis) -> None:
    settings = settings_for(redis_url, web_cors_origins=["https://ok.example"])
    async with (
        live_server(settings) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        ok = await client.get("/api/summary", headers={"Origin": "https://ok.example"})
        bad = await client.get("/api/summary", headers={"Origin": "https://evil.example"})
    assert ok.headers["access-control-allow-origin"] == "https://ok.example"
    assert "access-control-allow-origin" not in bad.headers


async def test_dashboard_page_has_security_headers(web: Web) -> None:
    resp = await web.client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    csp = resp.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["referrer-policy"] == "no-referrer"
    api = await web.client.get("/api/summary")
    assert api.headers["x-content-type-options"] == "nosniff"
    assert (await web.client.get("/static/does-not-exist.js")).status_code == 404


async def test_openapi_and_docs(web: Web) -> None:
    spec = (await web.client.get("/openapi.json")).json()
    assert {
        "/api/liquidations", "/api/summary", "/api/symbols/{symbol}", "/api/series",
        "/api/health", "/api/stream", "/api/venues", "/metrics",
    } <= set(spec["paths"])  # fmt: skip
    assert "text/event-stream" in spec["paths"]["/api/stream"]["get"]["responses"]["200"]["content"]
    assert (await web.client.get("/docs")).status_code == 200
    assert "across exchanges" in spec["info"]["summary"]
    params = {p["name"]: p for p in spec["paths"]["/api/liquidations"]["get"]["parameters"]}
    assert "`ts`" in params["since"]["description"]
    assert "10 minutes after `until`" in params["until"]["description"]


async def test_redis_down_is_503_not_500(redis_url: str) -> None:
    from liqmon.embedded_redis import EmbeddedRedis

    other = EmbeddedRedis(None, persistent=False)
    other.start()
    async with (
        live_server(settings_for(other.url, web_summary_cache_ms=0)) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        other.stop()
        resp = await client.get("/api/liquidations")
        assert resp.status_code == 503
        assert resp.json()["error"]
        health = (await client.get("/api/health")).json()
        assert health["status"] == "down"
        Health.model_validate(health)
