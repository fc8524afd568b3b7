"""The simulator's HTX and Gate servers with plain clients: frames in the recorded shapes,
acks and refusals, REST documents, HTX gzip and pings, Gate's shapes, size header,
sampling and history."""

from __future__ import annotations

import json
import zlib
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

from liqmon_sim.catalog import EXPIRY_CODE
from tests.sim.conftest import fixture, http_get, key_types

SUB = {"op": "sub", "cid": "t1", "topic": "public.*.liquidation_orders"}


async def htx_recv(ws: ClientConnection, skip_pings: bool = True) -> Any:
    while True:
        frame = await ws.recv()
        assert isinstance(frame, bytes), "HTX sends gzip binary frames only"
        msg = json.loads(zlib.decompress(frame, 16 + zlib.MAX_WBITS))
        if not (skip_pings and msg.get("op") == "ping"):
            return msg


def keys_of(obj: dict[str, Any]) -> list[str]:
    return list(obj)


async def test_htx_subscribe_push_and_refusals(make_sim: Any) -> None:
    sim = await make_sim(sim_htx_ping_interval_s=60)
    base = sim.urls["LIQMON_HTX_WS_URL"]
    async with connect(base + "/linear-swap-notification") as ws:
        await ws.send(json.dumps({**SUB, "business_type": "all"}))
        ack = await htx_recv(ws)
        assert key_types(ack) == key_types(fixture("htx/htx_inverse_subscribe_ack_1.json"))
        assert ack["err-code"] == 0 and ack["cid"] == "t1"
        await ws.send(json.dumps({**SUB, "topic": "public.BTC-USDT.liquidation_orders"}))
        again = await htx_recv(ws)
        assert (again["err-code"], again["err-msg"]) == (2014, "Repeated subscription.")
        for code in ("ETH-USDT", f"BTC-USDT-{EXPIRY_CODE}"):
            await sim.control("burst", n=1, venue="htx-linear", instrument=code)
            push = await htx_recv(ws)
            want = fixture("htx/htx_linear_liquidation_orders_2.json")
            assert keys_of(push) == keys_of(want)
            assert keys_of(push["data"][0]) == keys_of(want["data"][0])
            assert push["data"][0]["contract_code"] == code
    async with connect(base + "/swap-notification") as ws:
        await ws.send(json.dumps({**SUB, "topic": "public.NOPE-USD.liquidation_orders"}))
        assert (await htx_recv(ws))["err-code"] == 2011
        await ws.send(json.dumps(SUB))
        assert (await htx_recv(ws))["err-code"] == 0
        await sim.control("burst", n=1, venue="htx-inverse", instrument="ETH-USD")
        push = await htx_recv(ws)
        want = fixture("htx/htx_inverse_liquidation_orders_1.json")
        assert keys_of(push["data"][0]) == keys_of(want["data"][0])  # no amount on coin-M


async def test_htx_pings_carry_a_string_ts_and_an_echo_keeps_the_client(make_sim: Any) -> None:
    sim = await make_sim(sim_htx_ping_interval_s=0.05)
    async with connect(sim.urls["LIQMON_HTX_WS_URL"] + "/swap-notification") as ws:
        for _ in range(8):  # more than the 5 a silent client gets
            ping = await htx_recv(ws, skip_pings=False)
            assert ping["op"] == "ping" and isinstance(ping["ts"], str)
            await ws.send(json.dumps({"op": "pong", "ts": ping["ts"]}))
    assert sim.by_name["htx"].stats["ping_timeouts"] == 0


async def test_htx_contract_lists(make_sim: Any) -> None:
    sim = await make_sim()
    rest = sim.urls["LIQMON_HTX_REST_URL"]
    swaps = (await http_get(rest + "/linear-swap-api/v1/swap_contract_info")).json()
    every = (
        await http_get(rest + "/linear-swap-api/v1/swap_contract_info", business_type="all")
    ).json()
    codes = {c["contract_code"] for c in swaps["data"]}
    futures = {c["contract_code"] for c in every["data"]} - codes
    assert "BTC-USDT" in codes and futures == {f"BTC-USDT-{EXPIRY_CODE}", f"ETH-USDT-{EXPIRY_CODE}"}
    want = fixture("htx/htx_linear_swap_contract_info_excerpt_2022.json")
    assert key_types(swaps["data"][0]) == key_types(want["data"][0])
    inverse = (await http_get(rest + "/swap-api/v1/swap_contract_info")).json()
    want = fixture("htx/htx_inverse_swap_contract_info_excerpt_2022.json")
    assert key_types(inverse["data"][0]) == key_types(want["data"][0])
    btc = next(c for c in inverse["data"] if c["contract_code"] == "BTC-USD")
    assert btc["contract_size"] == 100
    response = await http_get(rest + "/linear-swap-api/v1/swap_contract_info")
    assert b'"contract_size":0.001000000000000000' in response.content  # 18 decimals, exact


async def gate_subscribed(url: str, **headers: str) -> ClientConnection:
    ws = await connect(url + "/usdt", additional_headers=headers or None)
    request = {"time": 1, "channel": "futures.public_liquidates", "event": "subscribe"}
    await ws.send(json.dumps({**request, "payload": ["!all"]}))
    ack = json.loads(await ws.recv())
    assert key_types(ack) == key_types(fixture("gate/gate_futures_subscribe_ack_doc_example.json"))
    return ws


async def test_gate_both_shapes_sizes_and_sampling(make_sim: Any) -> None:
    sim = await make_sim(sim_gate_sampling_ms=200)
    base = sim.urls["LIQMON_GATE_WS_URL"]
    plain_ws = await gate_subscribed(base)
    decimal_ws = await gate_subscribed(base, **{"X-Gate-Size-Decimal": "1"})
    try:
        await sim.control("burst", n=1, venue="gate-usdt", instrument="ETH_USDT")
        live = json.loads(await plain_ws.recv())  # pushes alternate: live shape, then doc
        with_header = json.loads(await decimal_ws.recv())
        await sim.control("burst", n=1, venue="gate-usdt", instrument="SOL_USDT")
        doc = json.loads(await plain_ws.recv())
        await decimal_ws.recv()
        assert key_types(live) == key_types(fixture("gate/gate_futures_public_liquidates_1.json"))
        want_doc = fixture("gate/gate_futures_public_liquidates_doc_example.json")
        assert isinstance(doc["result"], list)
        assert set(doc["result"][0]) == set(want_doc["result"][0])
        assert isinstance(doc["result"][0]["size"], str)
        await plain_ws.send(json.dumps({"time": 1, "channel": "futures.ping"}))
        pong = json.loads(await plain_ws.recv())
        assert key_types(pong) == key_types(fixture("gate/gate_futures_pong_doc_example.json"))
        # the whole burst within one period on one contract: one push, the rest suppressed
        run = await sim.control("burst", n=3, rate=1e9, venue="gate-usdt", instrument="BTC_USDT")
        await sim.wait_done(timeout=10, run=run["run"])
        assert sim.by_name["gate"].stats["suppressed"] > 0
        assert isinstance(with_header["result"]["size"], str)
        assert isinstance(live["result"]["size"], int)
    finally:
        await plain_ws.close()
        await decimal_ws.close()


async def test_gate_refusals_contracts_and_history(make_sim: Any) -> None:
    sim = await make_sim(sim_gate_sampling_ms=0)
    async with connect(sim.urls["LIQMON_GATE_WS_URL"] + "/usdt") as ws:
        request = {"time": 1, "channel": "futures.public_liquidates", "event": "subscribe"}
        await ws.send(json.dumps({**request, "payload": ["NOPE_USDT"]}))
        refused = json.loads(await ws.recv())
        assert refused["result"] == {"status": "fail"} and refused["error"]["code"] == 2
    rest = sim.urls["LIQMON_GATE_REST_URL"]
    contracts = (await http_get(rest + "/api/v4/futures/usdt/contracts")).json()
    btc = next(c for c in contracts if c["name"] == "BTC_USDT")
    assert btc["quanto_multiplier"] == "0.0001"  # as the real one
    ws = await gate_subscribed(sim.urls["LIQMON_GATE_WS_URL"])
    try:
        await sim.control("burst", n=1, venue="gate-usdt", instrument="BTC_USDT")
        pushed = orjson.loads(await ws.recv())["result"]
    finally:
        await ws.close()
    second = pushed["time"] // 1000
    rows = (
        await http_get(
            rest + "/api/v4/futures/usdt/liq_orders", contract="BTC_USDT", **{"from": second - 1},
            to=second + 1,
        )
    ).json()  # fmt: skip
    assert key_types(rows[0]) == key_types(fixture("gate/gate_rest_liq_orders_doc_example.json")[0])
    (row,) = rows
    # the default ("order") convention: the pushed size IS the liquidation order's
    assert row["order_size"] == str(pushed["size"]) and row["order_price"] == pushed["price"]
    assert row["size"] == str(-pushed["size"])
    too_long = await http_get(rest + "/api/v4/futures/usdt/liq_orders", **{"from": 0}, to=7200)
    assert too_long.status_code == 400


async def test_htx_pushes_a_turns_liquidations_of_one_contract_together(make_sim: Any) -> None:
    """A burst on one contract is generated in one turn of the loop: one push whose `data[]`
    holds every one of them (the ledger still lists each, with its clients); a duplicate
    re-sends one liquidation's push alone, with the push time it first went out at."""
    sim = await make_sim(sim_htx_ping_interval_s=60)
    async with connect(sim.urls["LIQMON_HTX_WS_URL"] + "/linear-swap-notification") as ws:
        await ws.send(json.dumps(SUB))
        assert (await htx_recv(ws))["err-code"] == 0
        run = await sim.control("burst", n=7, venue="htx-linear", instrument="ETH-USDT")
        await sim.wait_done(timeout=10, run=run["run"])
        push = await htx_recv(ws)
        assert push["topic"] == "public.ETH-USDT.liquidation_orders"
        assert len(push["data"]) == 7
        assert {e["contract_code"] for e in push["data"]} == {"ETH-USDT"}
        entries = sim.ledger.select(run=run["run"])
        assert [e.clients for e in entries] == [1] * 7
        assert {e.emitted_ms for e in entries} == {push["ts"]}
        assert [e["created_at"] for e in push["data"]] == [e.ts for e in entries]
        assert (await sim.control("duplicate", n=1, venue="htx-linear"))["sent"] == 1
        again = await htx_recv(ws)
        (element,) = again["data"]
        assert element in push["data"] and again["ts"] == push["ts"]
        assert again["topic"] == push["topic"]
    (duplicate,) = [e for e in sim.ledger.select() if e.duplicate]
    assert duplicate.replay_of in {e.seq for e in entries}
