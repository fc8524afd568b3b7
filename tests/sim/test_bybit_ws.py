"""Bybit `allLiquidation` WebSocket and instruments-info of the simulator, seen by a plain
client (never the collector): the doc fixtures' shapes, pagination, refusals, batching, the
position-side rule and the ledger's USD."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.sim.conftest import drain, fixture, http_get, key_types, recv_json

INFO = "/v5/market/instruments-info"


async def listing(sim: Any, category: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every instrument of a category by following nextPageCursor; (list, pages)."""
    base = sim.urls["LIQMON_BYBIT_REST_URL"] + INFO
    out: list[dict[str, Any]] = []
    cursor, pages = "", 0
    while True:
        params = {"category": category, "limit": limit} | ({"cursor": cursor} if cursor else {})
        doc = (await http_get(base, **params)).json()
        assert doc["retCode"] == 0 and doc["result"]["category"] == category
        out += doc["result"]["list"]
        pages += 1
        cursor = doc["result"]["nextPageCursor"]
        if not cursor:
            return out, pages


async def subscribed(url: str, symbols: list[str], req_id: str = "s1") -> ClientConnection:
    ws = await connect(url, max_size=None)
    args = [f"allLiquidation.{s}" for s in symbols]
    await ws.send(json.dumps({"req_id": req_id, "op": "subscribe", "args": args}))
    ack = await recv_json(ws)
    assert ack["success"] is True and ack["req_id"] == req_id, ack
    return ws


async def test_instruments_info_pages_through_every_symbol(make_sim):
    sim = await make_sim()
    linear, pages = await listing(sim, "linear", 40)
    symbols = {i["symbol"] for i in linear}
    assert pages == -(-len(linear) // 40) > 2 and len(symbols) == len(linear)
    assert symbols == {i.inst_id for i in sim.catalog.instruments("bybit-linear")}
    assert {"BTCUSDT", "1000PEPEUSDT", "SHIB1000USDT", "BTCPERP", "BTCUSDT-25DEC26"} <= symbols
    inverse, _ = await listing(sim, "inverse", 1000)
    assert {i["symbol"] for i in inverse} >= {"BTCUSD", "ETHUSD", "BTCUSDZ26"}
    btc = next(i for i in inverse if i["symbol"] == "BTCUSD")
    assert (btc["contractType"], btc["baseCoin"], btc["quoteCoin"], btc["status"]) == (
        "InversePerpetual", "BTC", "USD", "Trading",
    )  # fmt: skip
    base = sim.urls["LIQMON_BYBIT_REST_URL"] + INFO
    for params in ({"category": "spot"}, {"category": "linear", "limit": 0},
                   {"category": "linear", "cursor": "forged"}):  # fmt: skip
        doc = (await http_get(base, **params)).json()
        assert doc["retCode"] == 10001 and "params error" in doc["retMsg"]


async def test_subscribe_ack_refusals_and_pong_match_the_fixtures(make_sim):
    sim = await make_sim()
    url = sim.urls["LIQMON_BYBIT_WS_URL"] + "/linear"
    async with connect(url) as ws:
        request = fixture("bybit/bybit_subscribe_request_doc_example.json")
        await ws.send(json.dumps(request))
        ack = await recv_json(ws)
        doc_ack = fixture("bybit/bybit_subscribe_ack_doc_example.json")
        assert key_types(ack) == key_types(doc_ack)
        assert ack["success"] is True and ack["req_id"] == "test" and ack["op"] == "subscribe"
        await ws.send(json.dumps(fixture("bybit/bybit_ping_request_doc_example.json")))
        pong = await recv_json(ws)
        assert key_types(pong) == key_types(fixture("bybit/bybit_pong_doc_example.json"))
        assert pong["ret_msg"] == "pong" and pong["req_id"] == "100001"
        await ws.send('{"op":"ping"}')
        assert (await recv_json(ws))["ret_msg"] == "pong"
        for args in (
            ["allLiquidation.NOPEUSDT", "allLiquidation.SOLUSDT"],  # unknown symbol: all refused
            ["allLiquidation.BTCUSD"],  # an inverse symbol on the linear path
            ["orderbook.1.BTCUSDT"],
            [f"allLiquidation.X{i:05d}USDT" for i in range(1000)],  # args over 21,000 chars
            ["allLiquidation.BTCUSDT"],  # already subscribed
        ):
            await ws.send(json.dumps({"op": "subscribe", "args": args}))
            refusal = await recv_json(ws)
            assert refusal["success"] is False and refusal["ret_msg"], refusal
        await ws.send('{"op":"unsubscribe","args":["allLiquidation.ETHUSDT"]}')
        assert (await recv_json(ws))["success"] is True
        conn = next(iter(sim.server("bybit").conns))
        assert conn.topics == {"allLiquidation.BTCUSDT"}  # SOLUSDT was not subscribed


async def test_batched_pushes_position_side_and_ledger_usd(make_sim):
    sim = await make_sim(sim_bybit_batch_ms=200)
    base = sim.urls["LIQMON_BYBIT_WS_URL"]
    linear = await subscribed(f"{base}/linear", ["BTCUSDT"])
    inverse = await subscribed(f"{base}/inverse", ["BTCUSD"])
    async with linear, inverse:
        await sim.control("burst", n=60, rate=1000, instrument="BTCUSDT", venue="bybit-linear")
        await sim.control("burst", n=20, rate=1000, instrument="BTCUSD", venue="bybit-inverse")
        await asyncio.wait_for(sim.driver.wait_done(2), 10)
        await asyncio.wait_for(sim.driver.wait_done(3), 10)
        pushes = [json.loads(t) for t in await drain(linear, 0.6) + await drain(inverse, 0.6)]
    real = fixture("bybit/bybit_all_liquidation_1.json")
    seen: Counter[tuple[str, int, str, int]] = Counter()
    for push in pushes:
        assert key_types(push) == key_types(real)
        assert push["type"] == "snapshot" and push["topic"] in (
            "allLiquidation.BTCUSDT", "allLiquidation.BTCUSD",
        )  # fmt: skip
        for item in push["data"]:
            assert item["T"] <= push["ts"]
            v, p = Decimal(item["v"]), Decimal(item["p"])
            usd = v * p if item["s"] == "BTCUSDT" else v  # inverse: v is USD
            cents = int(usd.quantize(Decimal("0.01"), ROUND_HALF_EVEN) * 100)
            side = {"Buy": "long", "Sell": "short"}[item["S"]]  # the POSITION side
            seen[(item["s"], item["T"], side, cents)] += 1
    ledger = Counter((e.instrument, e.ts, e.side, e.cents) for e in sim.ledger.entries)
    assert seen == ledger and seen.total() == 80
    assert len(pushes) < 80  # batched: several liquidations per push
    totals = sim.ledger.totals.as_dict()
    assert {k.split("/")[0] for k in totals["by_venue_side"]} == {"bybit-linear", "bybit-inverse"}
