"""Test helpers for the web service: events, a live uvicorn server, an SSE reader."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import orjson
from redis.asyncio import Redis

from liqmon.clock import now_ms
from liqmon.embedded_redis import free_port
from liqmon.event import PRODUCTS, LiquidationEvent, make_event_id
from liqmon.keys import Keys
from liqmon.venues import SAMPLED_EXCHANGES
from liqmon_web.app import create_app
from liqmon_web.server import WebServer, build_server
from liqmon_web.settings import WebSettings

SYMBOLS = ("BTC", "ETH", "SOL", "DOGE", "PEPE")


def make_event(
    *,
    ts: int | None = None,
    symbol: str = "BTC",
    exchange: str = "binance",
    side: str = "long",
    usd_cents: int = 1_000_000,
    price: str = "97000.5",
    salt: int = 0,
) -> LiquidationEvent:
    ts = ts if ts is not None else now_ms()
    product = PRODUCTS[exchange][0]
    qty = (Decimal(usd_cents) / 100 / Decimal(price)).quantize(Decimal("0.000001")) or Decimal(
        "0.000001"
    )
    instrument = f"{symbol}USDT"
    return LiquidationEvent(
        id=make_event_id(exchange, product, instrument, side, ts, qty + salt, price),
        exchange=exchange,
        product=product,
        margin="linear",
        instrument=instrument,
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        price=Decimal(price),
        price_kind="avg_fill",
        qty=qty,
        usd_cents=usd_cents,
        ts=ts,
        recv_ts=ts + 5,
        sampled=exchange in SAMPLED_EXCHANGES,
    )


def random_events(n: int, *, start_ms: int, step_ms: int, seed: int = 7) -> list[LiquidationEvent]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        out.append(
            make_event(
                ts=start_ms + i * step_ms,
                symbol=rnd.choice(SYMBOLS),
                exchange=rnd.choice(("binance", "okx")),
                side=rnd.choice(("long", "short")),
                usd_cents=rnd.randint(100, 50_000_000),
                salt=i,
            )
        )
    return out


async def index_by_symbol(
    redis: Redis, keys: Keys, events: Sequence[LiquidationEvent], stream_ids: Sequence[str]
) -> None:
    """The per-coin index entries of appended events (`Keys.events_by_symbol`: the same
    stream id as in `events`), as the collectors' append writes them."""
    pipe = redis.pipeline(transaction=False)
    for ev, sid in zip(events, stream_ids, strict=True):
        pipe.xadd(keys.events_by_symbol(ev.symbol), {"i": ""}, id=sid)
    await pipe.execute()


async def xadd_at_ts(redis: Redis, keys: Keys, events: Sequence[LiquidationEvent]) -> list[str]:
    """XADD with stream ids taken from the event time (`<ts>-*`), as a live feed would."""
    pipe = redis.pipeline(transaction=False)
    for ev in events:
        pipe.xadd(keys.events, ev.to_fields(), id=f"{ev.ts}-*")  # type: ignore[arg-type]
    ids = [str(i) for i in await pipe.execute()]
    await index_by_symbol(redis, keys, events, ids)
    return ids


async def xadd_now(redis: Redis, keys: Keys, events: Sequence[LiquidationEvent]) -> list[str]:
    pipe = redis.pipeline(transaction=False)
    for ev in events:
        pipe.xadd(keys.events, ev.to_fields())  # type: ignore[arg-type]
    ids = [str(i) for i in await pipe.execute()]
    await index_by_symbol(redis, keys, events, ids)
    return ids


def settings_for(redis_url: str, **overrides: Any) -> WebSettings:
    """Web settings for a test; health expects binance and okx unless the test says
    otherwise (the default, every venue of the registry, has its own test)."""
    overrides.setdefault("web_expected_collectors", ["binance", "okx"])
    return WebSettings(redis_url=redis_url, **overrides)


@dataclass
class LiveServer:
    server: WebServer
    task: asyncio.Task[None]
    url: str
    app: Any

    @property
    def broadcaster(self) -> Any:
        return self.app.state.broadcaster


@contextlib.asynccontextmanager
async def live_server(settings: WebSettings) -> AsyncIterator[LiveServer]:
    """A real uvicorn on a free port, in this event loop."""
    app = create_app(settings)
    port = free_port()
    server = build_server(app, settings, host="127.0.0.1", port=port)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        if task.done():
            task.result()
        assert time.monotonic() < deadline, "server did not start"
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(server, task, f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@dataclass
class SseEvent:
    event: str
    data: str
    id: str | None

    def json(self) -> Any:
        return orjson.loads(self.data)


@dataclass
class SseReader:
    """Parses text/event-stream from an httpx streaming response."""

    response: httpx.Response
    retry: int | None = None
    last_id: str | None = None
    comments: list[str] = field(default_factory=list)
    _lines: AsyncIterator[str] | None = None

    async def next(self, timeout: float = 5.0) -> SseEvent:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> SseEvent:
        if self._lines is None:
            self._lines = self.response.aiter_lines()
        event, data, sid = "message", [], None
        seen_id = False
        async for line in self._lines:
            if line == "":
                if data:
                    return SseEvent(event, "\n".join(data), sid if seen_id else self.last_id)
                event, data = "message", []
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                self.comments.append(value)
            elif name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                sid, seen_id = value, True
                self.last_id = value
            elif name == "retry":
                self.retry = int(value)
        raise EOFError("stream ended")

    async def until(self, kind: str, timeout: float = 5.0) -> SseEvent:
        deadline = time.monotonic() + timeout
        while True:
            ev = await self.next(max(deadline - time.monotonic(), 0.01))
            if ev.event == kind:
                return ev

    async def liquidations(self, n: int, timeout: float = 10.0) -> list[SseEvent]:
        out: list[SseEvent] = []
        deadline = time.monotonic() + timeout
        while len(out) < n:
            ev = await self.next(max(deadline - time.monotonic(), 0.01))
            if ev.event in ("liquidation", "reset"):
                out.append(ev)
        return out


@contextlib.asynccontextmanager
async def sse(
    client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> AsyncIterator[SseReader]:
    async with client.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200, (response.status_code, await response.aread())
        yield SseReader(response)
