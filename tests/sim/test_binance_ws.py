"""Binance USDⓈ-M / COIN-M WebSocket behaviour of the simulator, seen by a plain client."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.sim.conftest import drain, fixture, key_types, recv_json, recv_n, until


async def _raw_and_combined(
    sim: Any, venue: str, streams: str, instrument: str, n: int, per_event: int
) -> tuple[list[Any], list[Any]]:
    """Frames of an n-liquidation burst seen by a raw `!forceOrder@arr` client and by a
    combined-stream client subscribed to `streams`."""
    base = sim.urls[
        "LIQMON_BINANCE_USDM_WS_URL" if venue == "binance-usdm" else "LIQMON_BINANCE_COINM_WS_URL"
    ]
    raw = await connect(f"{base}/ws/!forceOrder@arr")
    combined = await connect(f"{base}/stream?streams={streams}")
    async with raw, combined:
        await until(lambda: len(sim.venues[venue].conns) == 2)
        await sim.control("burst", n=n, venue=venue, instrument=instrument)
        raw_frames = [json.loads(m) for m in await recv_n(raw, n)]
        wrapped = [json.loads(m) for m in await recv_n(combined, n * per_event)]
    return raw_frames, wrapped


async def test_subscribe_ack_list_and_errors_match_binance(make_sim):
    sim = await make_sim()
    base = sim.urls["LIQMON_BINANCE_USDM_WS_URL"]
    async with connect(f"{base}/ws") as ws:
        await ws.send(json.dumps(fixture("binance/binance_subscribe_request_doc_example.json")))
        assert await recv_json(ws) == fixture("binance/binance_subscribe_ack_doc_example.json")
        await ws.send('{"method":"SUBSCRIBE","params":["btcusdt@forceOrder"],"id":2}')
        assert await recv_json(ws) == {"result": None, "id": 2}
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":3}')
        assert await recv_json(ws) == {"result": ["!forceOrder@arr", "btcusdt@forceOrder"], "id": 3}
        await ws.send('{"method":"UNSUBSCRIBE","params":["btcusdt@forceOrder"],"id":4}')
        assert await recv_json(ws) == {"result": None, "id": 4}
        await ws.send('{"method":"LIST_SUBSCRIPTIONS","id":5}')
        assert await recv_json(ws) == {"result": ["!forceOrder@arr"], "id": 5}
        await ws.send('{"method":"GET_PROPERTY","params":["combined"],"id":6}')
        assert await recv_json(ws) == {"result": False, "id": 6}
        await ws.send("{not json")
        error = await recv_json(ws)
        assert error["code"] == 3 and error["msg"].startswith("Invalid JSON")
        await ws.send('{"method":"SUBSCRIB","params":[],"id":7}')
        error = await recv_json(ws)
        assert error["code"] == 2 and "unknown variant SUBSCRIB" in error["msg"]
        await ws.send('{"method":"SUBSCRIBE","params":["x@y"],"id":-1}')
        assert (await recv_json(ws))["code"] == 2
    # a client that talks too fast is cut off (more than 10 messages a second)
    async with connect(f"{base}/ws") as ws:
        for i in range(12):
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert sim.server("binance-usdm").stats["rate_limit_closes"] == 1


async def test_usdm_raw_combined_and_symbol_frames_have_the_fixture_shapes(make_sim):
    sim = await make_sim(sim_binance_sampling_ms=0)
    # the combined client subscribed to both streams: two frames per liquidation
    raw_frames, wrapped = await _raw_and_combined(
        sim, "binance-usdm", "!forceOrder@arr/btcusdt@forceOrder", "BTCUSDT", n=5, per_event=2
    )
    raw_shape = key_types(fixture("binance/binance_usdm_forceorder_raw_1.json"))
    assert all(key_types(f) == raw_shape for f in raw_frames)
    combined_shape = key_types(fixture("binance/binance_usdm_forceorder_3.json"))
    assert all(key_types(f) == combined_shape for f in wrapped)
    streams = sorted(f["stream"] for f in wrapped)
    assert streams == ["!forceOrder@arr"] * 5 + ["btcusdt@forceOrder"] * 5
    assert [f["data"] for f in wrapped if f["stream"] == "!forceOrder@arr"] == raw_frames
    for frame in raw_frames:
        order = frame["o"]
        assert order["s"] == order["ps"] == "BTCUSDT" and order["st"] == 1
        assert order["S"] in ("BUY", "SELL") and order["X"] == "FILLED" and order["q"] == order["z"]
        assert frame["E"] >= order["T"] > time.time() * 1000 - 60_000
        # an IOC liquidation order fills at or better than its limit
        if order["S"] == "SELL":
            assert float(order["ap"]) >= float(order["p"])
        else:
            assert float(order["ap"]) <= float(order["p"])


async def test_coinm_paths_and_frame_shape(make_sim):
    sim = await make_sim(sim_binance_sampling_ms=0)
    base = sim.urls["LIQMON_BINANCE_COINM_WS_URL"]
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"{base}/market/ws/!forceOrder@arr")
    assert refused.value.response.status_code == 404
    raw_frames, wrapped = await _raw_and_combined(
        sim, "binance-coinm", "btcusd_perp@forceOrder", "BTCUSD_PERP", n=3, per_event=1
    )
    assert all(
        key_types(f) == key_types(fixture("binance/binance_coinm_forceorder_doc_example.json"))
        for f in raw_frames
    )
    assert all(
        key_types(f) == key_types(fixture("binance/binance_coinm_forceorder_1.json"))
        for f in wrapped
    )
    assert {f["stream"] for f in wrapped} == {"btcusd_perp@forceOrder"}
    assert all(f["o"]["ps"] == "BTCUSD" and "st" not in f["o"] for f in raw_frames)
    assert all(f["o"]["z"].isdigit() for f in raw_frames), "COIN-M quantities are contracts"


async def test_legacy_root_accepts_the_handshake_but_never_pushes(make_sim):
    sim = await make_sim(sim_binance_sampling_ms=0)
    port = sim.server("binance-usdm").port
    legacy = await connect(f"ws://127.0.0.1:{port}/ws/!forceOrder@arr")
    current = await connect(f"ws://127.0.0.1:{port}/market/ws/!forceOrder@arr")
    async with legacy, current:
        await until(lambda: len(sim.server("binance-usdm").conns) == 2)
        await sim.control("burst", n=4, venue="binance-usdm")
        assert len(await recv_n(current, 4)) == 4
        assert await drain(legacy, quiet=0.3) == []


async def test_server_pings_and_drops_a_client_that_stops_ponging(make_sim):
    sim = await make_sim(sim_binance_ping_interval_s=0.1, sim_binance_pong_timeout_s=0.4)
    base = sim.urls["LIQMON_BINANCE_USDM_WS_URL"]
    async with connect(f"{base}/ws/!forceOrder@arr") as healthy:
        deaf = await connect(f"{base}/ws/!forceOrder@arr")
        assert deaf.transport is not None
        deaf.transport.pause_reading()  # the client's pongs stop
        await until(lambda: sim.server("binance-usdm").stats["ping_timeouts"] == 1, timeout=5)
        deaf.transport.resume_reading()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(deaf.recv(), 5)
        assert sim.server("binance-usdm").stats["pings_sent"] >= 5
        await healthy.ping()  # still open: it answered every ping
        assert len([c for c in sim.server("binance-usdm").conns if c.open]) == 1


async def test_connection_is_closed_at_the_maximum_lifetime(make_sim):
    sim = await make_sim(sim_binance_max_connection_s=0.5)
    started = time.monotonic()
    async with connect(f"{sim.urls['LIQMON_BINANCE_COINM_WS_URL']}/ws/!forceOrder@arr") as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    lived = time.monotonic() - started
    assert 0.45 <= lived < 3.0
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert sim.server("binance-coinm").stats["lifetime_closes"] == 1


async def test_sampling_pushes_only_the_latest_per_symbol_per_window(make_sim):
    sim = await make_sim(sim_binance_sampling_ms=200)
    async with connect(f"{sim.urls['LIQMON_BINANCE_USDM_WS_URL']}/ws/!forceOrder@arr") as ws:
        await until(lambda: sim.server("binance-usdm").has_audience())
        # 3 emitted, generated at 300/s: most are replaced in their slot before a boundary
        await sim.control("burst", n=3, rate=300, venue="binance-usdm", instrument="ETHUSDT")
        frames = [json.loads(m) for m in await recv_n(ws, 3)]
    pushes = [f["E"] for f in frames]
    assert all(e % 200 == 0 for e in pushes), pushes
    assert all(b - a >= 200 for a, b in itertools.pairwise(pushes)), pushes
    assert all(0 <= f["E"] - f["o"]["T"] <= 200 for f in frames)
    # the ledger lists what was emitted; the suppressed ones are counted apart, not emitted
    entries = [e for e in sim.ledger.entries if e.instrument == "ETHUSDT"]
    assert [e.ts for e in entries] == [f["o"]["T"] for f in frames]
    assert sim.ledger.suppressed["binance-usdm"] >= 3
    assert sim.ledger.totals.count == 3


async def test_stall_stops_pings_pongs_and_data_until_resumed(make_sim):
    sim = await make_sim(
        sim_binance_sampling_ms=0, sim_binance_ping_interval_s=0.1, sim_binance_pong_timeout_s=0.3
    )
    url = f"{sim.urls['LIQMON_BINANCE_USDM_WS_URL']}/ws/!forceOrder@arr"
    usdm = sim.server("binance-usdm")
    async with connect(url) as ws:
        await until(lambda: usdm.stats["pings_sent"] >= 1)
        assert (await sim.control("stall", venue="binance-usdm"))["stalled"] == 1
        (frozen,) = usdm.conns
        pings = frozen.pings
        pong = await ws.ping()
        # a witness connected after the stall is live: the server goes on pinging it,
        # answering it and feeding it, so the frozen one's silence is the stall itself
        async with connect(url) as witness:
            await until(lambda: len(usdm.conns) == 2)
            (live,) = usdm.conns - {frozen}
            await asyncio.wait_for(await witness.ping(), 5)
            run = await sim.control("burst", n=2, venue="binance-usdm")
            await sim.wait_done(timeout=5, run=run["run"])
            assert len(await recv_n(witness, 2)) == 2
            await until(lambda: live.pings >= 2)  # the ping timer ran twice meanwhile
        assert not pong.done() and frozen.pings == pings
        assert [e.clients for e in sim.ledger.entries] == [1, 1], "none went to the frozen one"
        assert usdm.stats["ping_timeouts"] == 0  # a frozen server judges nobody
        assert (await sim.control("resume", venue="binance-usdm"))["resumed"] == 1
        await asyncio.wait_for(pong, 5)
        await until(lambda: frozen.pings > pings)
        # `seconds`: the stall ends by itself
        await sim.control("stall", venue="binance-usdm", seconds=0.1)
        await until(lambda: not frozen.stalled)
        await asyncio.wait_for(await ws.ping(), 5)
