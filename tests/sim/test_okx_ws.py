"""OKX `liquidation-orders` WebSocket behaviour of the simulator, seen by a plain client."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.sim.conftest import drain, fixture, key_types, okx_subscribed, recv_json, recv_n, until


async def test_subscribe_ack_error_and_ping_match_okx(make_sim):
    sim = await make_sim()
    async with connect(sim.urls["LIQMON_OKX_WS_URL"]) as ws:
        await ws.send(json.dumps(fixture("okx/okx_subscribe_request_doc_example.json")))
        ack = await recv_json(ws)
        doc_ack = fixture("okx/okx_subscribe_ack_doc_example.json")
        assert list(ack) == list(doc_ack)  # id, event, arg, connId
        assert ack["id"] == "1512" and ack["event"] == "subscribe"
        assert ack["arg"] == {"channel": "liquidation-orders", "instType": "SWAP"}
        assert len(ack["connId"]) == 8
        await ws.send(
            '{"op":"subscribe","args":[{"channel":"liquidation-orders","instType":"FUTURES"}]}'
        )
        ack = await recv_json(ws)
        assert list(ack) == ["event", "arg", "connId"]
        await ws.send('{"op":"subscribe","args":[{"channel":"tickerz","instType":"SWAP"}]}')
        error = await recv_json(ws)
        assert list(error) == list(fixture("okx/okx_error_doc_example.json"))
        assert error["event"] == "error" and error["code"] == "60012"
        await ws.send("{broken")
        assert (await recv_json(ws))["code"] == "60012"
        await ws.send("ping")
        assert await asyncio.wait_for(ws.recv(), 5) == "pong"
        await ws.send(
            '{"op":"unsubscribe","args":[{"channel":"liquidation-orders","instType":"SWAP"}]}'
        )
        assert (await recv_json(ws))["event"] == "unsubscribe"


async def test_pushes_have_the_fixture_shape_with_several_entries(make_sim):
    sim = await make_sim(sim_okx_batch_ms=100)
    ws = await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"])
    async with ws:
        await sim.control("burst", n=300, venue="okx")
        pushes = []
        async with asyncio.timeout(10):
            while sum(len(d["details"]) for p in pushes for d in p["data"]) < 300:
                pushes.append(await recv_json(ws))
    real = fixture("okx/okx_liquidation_orders_1.json")
    assert list(pushes[0]) == list(real) and list(pushes[0]["arg"]) == list(real["arg"])
    entry_keys = list(real["data"][0])
    detail_keys = list(real["data"][0]["details"][0])
    details = []
    for push in pushes:
        assert push["arg"]["channel"] == "liquidation-orders"
        for entry in push["data"]:
            assert list(entry) == entry_keys and entry["instType"] == push["arg"]["instType"]
            assert entry["uly"] == entry["instFamily"] == entry["instId"].rsplit("-", 1)[0]
            for detail in entry["details"]:
                assert list(detail) == detail_keys
                assert all(isinstance(v, str) for v in detail.values())
                details.append(detail)
    assert len(details) == 300
    assert max(len(p["data"]) for p in pushes) > 1, "coinciding liquidations share a push"
    assert any(len(e["details"]) > 1 for p in pushes for e in p["data"])
    assert {d["posSide"] for d in details} == {"long", "short", "net"}
    for d in details:
        want = {"long": "sell", "short": "buy"}.get(d["posSide"])
        assert want is None or d["side"] == want


async def test_idle_connections_are_closed_unless_the_client_pings(make_sim):
    sim = await make_sim(sim_okx_idle_timeout_s=0.4)
    quiet = await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"])
    pinger = await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"])
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await pinger.send("ping")
            assert await asyncio.wait_for(pinger.recv(), 5) == "pong"
            try:
                await asyncio.wait_for(quiet.recv(), 0.15)
            except TimeoutError:
                assert time.monotonic() - started < 3
    assert 0.35 <= time.monotonic() - started < 3
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4004
    await pinger.send("ping")
    assert await asyncio.wait_for(pinger.recv(), 5) == "pong"
    await pinger.close()
    assert sim.server("okx").stats["idle_closes"] == 1


async def test_notice_64008_then_close(make_sim):
    sim = await make_sim()
    async with await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"]) as ws:
        assert (await sim.control("notice", delay=0.2))["noticed"] == 1
        notice = await recv_json(ws)
        assert key_types(notice) == key_types(fixture("okx/okx_notice_doc_example.json"))
        assert notice["code"] == "64008" and notice["event"] == "notice"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)


async def test_stale_replay_after_subscribe_and_late_events(make_sim):
    sim = await make_sim(sim_okx_batch_ms=0, sim_faults={"okx_replay_on_subscribe": True})
    first = await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"])
    async with first:
        await sim.control("burst", n=3, venue="okx")
        originals = [json.loads(m) for m in await recv_n(first, 3)]
        second = await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"])
        async with second:
            replay = await recv_json(second)
            assert replay in originals  # an old liquidation, byte for byte
            await until(lambda: sim.ledger.totals.duplicates == 1)
            dup = sim.ledger.entries[-1]
            assert dup.duplicate and dup.replay_of is not None and dup.clients == 1
            await sim.control("faults", okx_late_fraction=1.0, okx_late_ms=600_000)
            await sim.control("burst", n=2, venue="okx")
            late = [json.loads(m) for m in await recv_n(second, 2)]
    now = time.time() * 1000
    for push in late:
        ts = int(push["data"][0]["details"][0]["ts"])
        assert 599_000 < now - ts < 620_000, "ten minutes late"
    assert sim.ledger.totals.count == 5 and sim.ledger.totals.duplicates == 1


async def test_stall_keeps_the_socket_open_but_silent(make_sim):
    sim = await make_sim(sim_okx_idle_timeout_s=0.3)
    async with await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"]) as ws:
        assert (await sim.control("stall", venue="okx"))["stalled"] == 1
        await ws.send("ping")
        assert await drain(ws, quiet=0.6) == []  # no pong, no idle close, no data
        assert not sim.server("okx").has_audience()
        await sim.control("resume", venue="okx")
        assert await asyncio.wait_for(ws.recv(), 5) == "pong"  # the queued ping is answered
