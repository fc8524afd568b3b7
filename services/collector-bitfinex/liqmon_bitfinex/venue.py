"""The Bitfinex venue: one connection, one subscription (status channel, key `liq:global`).

`{"event":"subscribe","channel":"status","key":"liq:global"}` is answered with
`{"event":"subscribed","channel":"status","chanId":N,"key":"liq:global"}`; afterwards frames
carry only `N`. The first data frame is a snapshot of recent liquidations: parsed like the
rest (the event ids are over `POS_ID`, so a position seen twice is written once). Heartbeats
`[N,"hb"]` arrive about every 15 s; after `bitfinex_ping_seconds` of silence the collector sends
`{"event":"ping"}` (answered with `pong`) and reconnects if nothing comes back. An `info`
frame with code 20051 (server restart) or 20061 (maintenance over) moves to a fresh
connection, as Bitfinex asks.
"""

from __future__ import annotations

from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.instruments import SpecCache
from liqmon.collector.venue import Deliver, FeedSpec, SubscribeError, recv_json
from liqmon_bitfinex.parser import CHANNEL, EXCHANGE, KEY, PRODUCT, StatusParser
from liqmon_bitfinex.settings import BitfinexSettings

SUBSCRIBE = orjson.dumps({"event": "subscribe", "channel": CHANNEL, "key": KEY}).decode()
PING = orjson.dumps({"event": "ping", "cid": 1}).decode()


async def subscribe(ws: ClientConnection, deliver: Deliver) -> None:
    """Subscribe `liq:global`; return once it is acknowledged (other frames: `deliver`)."""
    await ws.send(SUBSCRIBE)
    while True:
        raw, msg = await recv_json(ws)
        if (
            isinstance(msg, dict)
            and msg.get("event") == "subscribed"
            and (msg.get("channel"), msg.get("key")) == (CHANNEL, KEY)
        ):
            return
        if isinstance(msg, dict) and msg.get("event") == "error":
            raise SubscribeError(
                f"bitfinex refused the subscription: {msg.get('code')} {msg.get('msg')!r:.200}"
            )
        deliver(raw)


class BitfinexVenue:
    exchange = EXCHANGE

    def __init__(self, settings: BitfinexSettings) -> None:
        self.settings = settings

    def feeds(self) -> list[FeedSpec]:
        return [
            FeedSpec(
                product=PRODUCT,
                url=self.settings.bitfinex_ws_url,
                parser=StatusParser(),
                subscribe=subscribe,
                text_ping=PING,
                quiet_seconds=self.settings.bitfinex_ping_seconds,
            )
        ]

    def notes(self) -> dict[str, str]:
        """What Bitfinex's numbers rest on (the status hash's `notes`, shown by /api/health)."""
        return {
            "side": "the sign of AMOUNT, the position: > 0 = long liquidated",
            "price": "BASE_PRICE, the position's entry price: usd is the entry notional",
            "coins": "Bitfinex's own coin codes (ALG, ATO, DSH, ...) mapped by a fixed table "
            "(inferred)",
        }

    def caches(self) -> list[SpecCache[Any]]:
        return []  # Bitfinex records carry coins and prices: no contract specs needed
