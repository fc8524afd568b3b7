"""The simulated BitMEX and Deribit protocols, driven by plain WebSocket/HTTP clients: the
shapes and the rules a collector relies on (acks, snapshots, heartbeats, refusals)."""

from __future__ import annotations

import json
import random

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from liqmon_sim.catalog import Catalog
from liqmon_sim.ledger import Ledger
from liqmon_sim.venues import bitmex, deribit
from tests.sim.conftest import drain, http_get, recv_json, recv_n
from tests.sim.venue_servers import Liquidations, serving

CATALOG = Catalog()


async def test_bitmex_welcome_acks_snapshots_ping_and_lifecycle() -> None:
    options = bitmex.BitmexOptions(merge_probability=1.0)
    venue = bitmex.BitmexServer(Ledger(), CATALOG, options, random.Random(1))
    async with serving(venue):
        rest = (await http_get(f"http://127.0.0.1:{venue.port}/api/v1/instrument/active")).json()
        xbtusd = next(r for r in rest if r["symbol"] == "XBTUSD")
        assert (xbtusd["isInverse"], xbtusd["multiplier"], xbtusd["markPrice"]) == (
            True, -100_000_000, float(bitmex.XBT_USD),
        )  # fmt: skip
        async with connect(f"ws://127.0.0.1:{venue.port}/realtime") as ws:
            assert (await recv_json(ws))["heartbeatEnabled"] is False
            await ws.send(json.dumps({"op": "subscribe", "args": ["liquidation", "trade:XBTUSD"]}))
            ack, partial, refused = [json.loads(m) for m in await recv_n(ws, 3)]
            assert ack["success"] is True and ack["subscribe"] == "liquidation"
            assert (partial["action"], partial["data"]) == ("partial", [])
            assert refused["success"] is False and "trade:XBTUSD" in refused["error"]
            await ws.send("ping")
            assert await ws.recv() == "pong"
            inst = CATALOG.get("bitmex-inverse", "XBTUSD")
            assert inst is not None
            liqs = Liquidations(CATALOG, 2)
            venue.submit(liqs.of(inst, "long", 1000))
            venue.submit(liqs.of(inst, "long", 500))
            frames = [json.loads(m) for m in await drain(ws, quiet=1.0)]
            actions = [f["action"] for f in frames]
            assert actions[:2] == ["insert", "update"] and actions[-1] == "delete"
            insert, grown = frames[0]["data"][0], frames[1]["data"][0]
            assert insert["side"] == "Sell" and "timestamp" not in insert
            assert grown["leavesQty"] > insert["leavesQty"] and set(grown) == {
                "orderID", "symbol", "price", "leavesQty",
            }  # fmt: skip
            assert venue.ledger.totals.count == 2 and not venue.book


async def test_deribit_rpc_subscribe_rules_and_heartbeat_close() -> None:
    options = deribit.DeribitOptions(heartbeat_seconds=0.1, heartbeat_grace=0.3)
    venue = deribit.DeribitServer(Ledger(), CATALOG, options, random.Random(1))
    async with serving(venue):
        url = f"http://127.0.0.1:{venue.port}/api/v2/public/get_instruments"
        usdc = (await http_get(url, currency="USDC", kind="future")).json()["result"]
        assert usdc and all(r["instrument_type"] == "linear" for r in usdc)
        async with connect(f"ws://127.0.0.1:{venue.port}/ws/api/v2") as ws:
            request = {"jsonrpc": "2.0", "id": 1, "method": "public/subscribe"}
            await ws.send(
                json.dumps({**request, "params": {"channels": ["trades.future.BTC.raw"]}})
            )
            assert (await recv_json(ws))["error"]["code"] == 13778
            channels = ["trades.future.BTC.100ms", "trades.nonsense"]
            await ws.send(json.dumps({**request, "id": 2, "params": {"channels": channels}}))
            assert (await recv_json(ws))["result"] == ["trades.future.BTC.100ms"]
            await ws.send(json.dumps({**request, "id": 3, "method": "public/set_heartbeat",
                                      "params": {"interval": 10}}))  # fmt: skip
            assert (await recv_json(ws))["result"] == "ok"
            assert (await recv_json(ws))["params"] == {"type": "test_request"}
            try:  # unanswered: closed with 4000
                while True:
                    await ws.recv()
            except ConnectionClosed as exc:
                assert exc.rcvd is not None and exc.rcvd.code == 4000
        assert venue.stats["heartbeat_closes"] == 1
