"""The Gate venue: `futures.public_liquidates` for every USDT-settled contract.

One connection to `<ws>/usdt`, opened with `X-Gate-Size-Decimal: 1` (sizes as exact
decimal strings; without it Gate rounds fractional sizes down). Subscribe
`{"time":…,"channel":"futures.public_liquidates","event":"subscribe","payload":["!all"]}`
and wait for `result.status` success. Gate's server pings at the protocol level (answered by
the WebSocket library); our liveness ping is `futures.ping` after `gate_ping_seconds` of
quiet, answered by `futures.pong`.

Contract multipliers: `<rest>/api/v4/futures/usdt/contracts` (`quanto_multiplier`).
The supervisor checks the side convention against the REST liquidation history every
`gate_side_check_seconds` (`liqmon_gate.history`); `notes()` says what the sides rest on.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from functools import partial
from typing import Any, Final

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.exactjson import load_exact
from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.pool import FeedPool
from liqmon.collector.timing import wait_or_stop
from liqmon.collector.venue import Deliver, FeedSpec, SubscribeError, recv_json
from liqmon_gate.history import SideCheck
from liqmon_gate.parser import CHANNEL, PRODUCT, PublicLiquidatesParser, parse_contracts
from liqmon_gate.settings import GateSettings
from liqmon_gate.side import SideConvention

CONTRACTS: Final = "/api/v4/futures/usdt/contracts"
SIZE_DECIMAL: Final = {"X-Gate-Size-Decimal": "1"}


def subscribe_request() -> str:
    return orjson.dumps(
        {"time": int(time.time()), "channel": CHANNEL, "event": "subscribe", "payload": ["!all"]}
    ).decode()


def _load_text(raw: str | bytes) -> Any:
    return load_exact(raw if isinstance(raw, str) else raw.decode())


async def subscribe(ws: ClientConnection, deliver: Deliver) -> None:
    """Subscribe to every contract; return once Gate confirms it."""
    await ws.send(subscribe_request())
    while True:
        raw, msg = await recv_json(ws, _load_text)
        if (
            isinstance(msg, dict)
            and msg.get("channel") == CHANNEL
            and msg.get("event") == "subscribe"
        ):
            result = msg.get("result")
            if isinstance(result, dict) and result.get("status") == "success":
                return
            raise SubscribeError(f"gate refused {CHANNEL}: {msg.get('error')!r:.300}")
        deliver(raw)


async def load_contracts(rest_url: str) -> dict[str, Decimal]:
    return parse_contracts(await fetch_json(rest_url.rstrip("/") + CONTRACTS, loads=load_exact))


class GateVenue:
    exchange = "gate"

    def __init__(self, settings: GateSettings) -> None:
        self.settings = settings
        rest = settings.gate_rest_url
        self.specs: SpecCache[Decimal] = SpecCache.of_collector(
            "gate usdt contracts", partial(load_contracts, rest), settings
        )
        self.convention = SideConvention(settings.gate_side_initial)
        self.side_check = SideCheck(
            self.convention,
            rest,
            delay_ms=int(settings.gate_side_check_delay_seconds * 1000),
            contracts_per_check=settings.gate_side_contracts_per_check,
        )
        self.ping = orjson.dumps({"time": int(time.time()), "channel": "futures.ping"}).decode()

    def feeds(self) -> list[FeedSpec]:
        return [
            FeedSpec(
                product=PRODUCT,
                url=self.settings.gate_ws_url.rstrip("/") + "/usdt",
                parser=PublicLiquidatesParser(self.specs, self.convention),
                subscribe=subscribe,
                text_ping=self.ping,
                quiet_seconds=self.settings.gate_ping_seconds,
                caches=(self.specs,),
                headers=SIZE_DECIMAL,
            )
        ]

    def caches(self) -> list[SpecCache[Any]]:
        return [self.specs]

    def notes(self) -> dict[str, str]:
        return self.convention.notes()

    async def supervise(self, pool: FeedPool, stop: asyncio.Event) -> None:
        """Check the side convention against the REST history while running."""
        del pool  # one fixed connection
        while not await wait_or_stop(stop, self.settings.gate_side_check_seconds):
            await self.side_check.check_once()
