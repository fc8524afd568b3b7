"""Helpers for driving the simulator with plain WebSocket/HTTP clients (never the collectors)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from liqmon_sim.settings import SimSettings
from liqmon_sim.simulator import ExchangeSimulator
from tests.conftest import FIXTURES
from tests.polling import poll

SUBSCRIBE_OKX = {
    "op": "subscribe",
    "args": [
        {"channel": "liquidation-orders", "instType": "SWAP"},
        {"channel": "liquidation-orders", "instType": "FUTURES"},
    ],
}


def fixture(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text())


async def recv_json(ws: ClientConnection, timeout: float = 5.0) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_n(ws: ClientConnection, n: int, timeout: float = 10.0) -> list[str]:
    """Exactly the next `n` text frames (fails on timeout)."""
    out: list[str] = []
    async with asyncio.timeout(timeout):
        while len(out) < n:
            message = await ws.recv()
            assert isinstance(message, str), "venues send text frames"
            out.append(message)
    return out


async def drain(ws: ClientConnection, quiet: float = 0.3) -> list[str]:
    """Every frame until the socket stays quiet for `quiet` seconds."""
    out: list[str] = []
    while True:
        try:
            message = await asyncio.wait_for(ws.recv(), quiet)
        except TimeoutError:
            return out
        assert isinstance(message, str)
        out.append(message)


async def until(check: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> None:
    await poll(check, timeout, every=step)


async def until_async(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    await poll(check, timeout, every=0.05)


async def okx_subscribed(url: str) -> ClientConnection:
    ws = await connect(url, max_size=None)
    await ws.send(json.dumps(SUBSCRIBE_OKX))
    for _ in SUBSCRIBE_OKX["args"]:
        ack = await recv_json(ws)
        assert ack["event"] == "subscribe", ack
    return ws


async def http_get(url: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.get(url, params=params)


async def http_post(url: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, params=params)


@pytest.fixture
async def make_sim() -> AsyncIterator[Callable[..., Any]]:
    """`sim = await make_sim(sim_okx_batch_ms=0, ...)`: a simulator on free ports built from
    these `SimSettings` (scenario `quiet` unless named), started, stopped after the test."""
    started: list[ExchangeSimulator] = []

    async def factory(**settings: Any) -> ExchangeSimulator:
        settings.setdefault("sim_scenario", "quiet")
        sim = ExchangeSimulator(SimSettings(**settings))
        await sim.start()
        started.append(sim)
        return sim

    yield factory
    for sim in started:
        await sim.stop()


def key_types(obj: Any) -> Any:
    """The shape of a JSON value: same keys in the same order, and the type of each leaf."""
    if isinstance(obj, dict):
        return [(k, key_types(v)) for k, v in obj.items()]
    if isinstance(obj, list):
        return [key_types(obj[0])] if obj else []
    return type(obj).__name__
