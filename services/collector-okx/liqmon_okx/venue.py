"""The OKX venue: `liquidation-orders` for SWAP and FUTURES on one connection.

The WS URL is used as configured; contract specs come from
`<rest>/api/v5/public/instruments?instType=SWAP` and `…=FUTURES`. Keepalive is the text
`ping` (OKX ignores protocol pings) after `okx_ping_seconds` of quiet, answered by `pong`.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.venue import Deliver, FeedSpec, SubscribeError, recv_json
from liqmon_okx.parser import (
    CHANNEL,
    INST_TYPES,
    LiquidationOrdersParser,
    OkxSpec,
    parse_instruments,
)
from liqmon_okx.settings import OkxSettings

INSTRUMENTS_PATH = "/api/v5/public/instruments?instType="
SUBSCRIBE = orjson.dumps(
    {"op": "subscribe", "args": [{"channel": CHANNEL, "instType": t} for t in INST_TYPES]}
).decode()


async def load_specs(rest_url: str) -> dict[str, OkxSpec]:
    """Both instrument types; one failing type does not block the other's specs."""
    base = rest_url.rstrip("/") + INSTRUMENTS_PATH
    docs = await asyncio.gather(*(fetch_json(base + t) for t in INST_TYPES), return_exceptions=True)
    specs: dict[str, OkxSpec] = {}
    failures: list[BaseException] = []
    for doc in docs:
        if isinstance(doc, BaseException):
            failures.append(doc)
            continue
        try:
            specs.update(parse_instruments(doc))
        except ValueError as exc:
            failures.append(exc)
    if len(failures) == len(docs):
        raise failures[0]
    return specs


async def subscribe(ws: ClientConnection, deliver: Deliver) -> None:
    """Subscribe to both instrument types; return once both are acknowledged."""
    await ws.send(SUBSCRIBE)
    waiting = set(INST_TYPES)
    while waiting:
        raw, msg = await recv_json(ws)
        if isinstance(msg, dict) and msg.get("event") == "subscribe":
            arg = msg.get("arg")
            if isinstance(arg, dict) and arg.get("channel") == CHANNEL:
                waiting.discard(str(arg.get("instType")))
                continue
        if isinstance(msg, dict) and msg.get("event") == "error":
            raise SubscribeError(
                f"okx refused the subscription: {msg.get('code')} {msg.get('msg')}"
            )
        deliver(raw)


class OkxVenue:
    exchange = "okx"

    def __init__(self, settings: OkxSettings) -> None:
        self.settings = settings
        self.specs: SpecCache[OkxSpec] = SpecCache.of_collector(
            "okx instruments", partial(load_specs, settings.okx_rest_url), settings
        )

    def feeds(self) -> list[FeedSpec]:
        return [
            FeedSpec(
                product="okx-swap+futures",
                url=self.settings.okx_ws_url,
                parser=LiquidationOrdersParser(self.specs),
                subscribe=subscribe,
                text_ping="ping",
                quiet_seconds=self.settings.okx_ping_seconds,
                caches=(self.specs,),
            )
        ]

    def caches(self) -> list[SpecCache[Any]]:
        return [self.specs]
