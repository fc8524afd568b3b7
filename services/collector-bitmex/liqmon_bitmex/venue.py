"""The BitMEX venue: one connection subscribed to `liquidation` (every instrument) and
`instrument:XBTUSD` (the live XBT/USD price quanto contracts are converted with).

The WS URL is used as configured; specs come from `<rest>/api/v1/instrument/active`
(`isInverse`, `isQuanto`, `multiplier`, `underlyingToPositionMultiplier`, `quoteCurrency`,
and XBTUSD's `markPrice` until the live table has sent one). Keepalive is the text `ping`
after `bitmex_ping_seconds` of quiet (BitMEX answers `pong`; its welcome says
`heartbeatEnabled: false`, i.e. it sends nothing on a quiet table).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.venue import Deliver, FeedSpec, SubscribeError, recv_json
from liqmon_bitmex.parser import (
    TABLE,
    XBT_PRICE_SYMBOL,
    BitmexInstrument,
    LiquidationParser,
    parse_instruments,
)
from liqmon_bitmex.settings import BitmexSettings

logger = logging.getLogger(__name__)
INSTRUMENTS_PATH = "/api/v1/instrument/active"
LIQUIDATION_TOPIC = TABLE
PRICE_TOPIC = f"instrument:{XBT_PRICE_SYMBOL}"


async def load_specs(rest_url: str) -> dict[str, BitmexInstrument]:
    return parse_instruments(await fetch_json(rest_url.rstrip("/") + INSTRUMENTS_PATH))


async def subscribe(ws: ClientConnection, deliver: Deliver) -> None:
    """`liquidation` (required: a refusal fails the connection), then `instrument:XBTUSD`
    (optional: refused, quanto contracts use the listing's mark price). One request each, so
    a refusal, which does not name its topic, is attributed to the request it answers. The
    welcome and the tables' `partial` snapshots that arrive meanwhile go to the parser."""
    await _subscribe_one(ws, deliver, LIQUIDATION_TOPIC, required=True)
    await _subscribe_one(ws, deliver, PRICE_TOPIC, required=False)


async def _subscribe_one(
    ws: ClientConnection, deliver: Deliver, topic: str, *, required: bool
) -> bool:
    await ws.send(orjson.dumps({"op": "subscribe", "args": [topic]}).decode())
    while True:
        raw, msg = await recv_json(ws)
        if isinstance(msg, dict) and msg.get("success") is True and msg.get("subscribe") == topic:
            return True
        if isinstance(msg, dict) and (msg.get("success") is False or "error" in msg):
            reason = f"bitmex refused {topic}: {msg.get('status')} {msg.get('error')}"
            if required:
                raise SubscribeError(reason)
            logger.warning("%s; quanto contracts use the instrument list's mark price", reason)
            return False
        deliver(raw)


class BitmexVenue:
    exchange = "bitmex"

    def __init__(self, settings: BitmexSettings) -> None:
        self.settings = settings
        self.specs: SpecCache[BitmexInstrument] = SpecCache.of_collector(
            "bitmex instruments", partial(load_specs, settings.bitmex_rest_url), settings
        )
        self.parser = LiquidationParser(self.specs)

    def feeds(self) -> list[FeedSpec]:
        return [
            FeedSpec(
                product="bitmex",
                url=self.settings.bitmex_ws_url,
                parser=self.parser,
                subscribe=subscribe,
                text_ping="ping",
                quiet_seconds=self.settings.bitmex_ping_seconds,
                caches=(self.specs,),
            )
        ]

    def caches(self) -> list[SpecCache[Any]]:
        return [self.specs]

    def notes(self) -> dict[str, str]:
        """What BitMEX's numbers rest on (the status hash's `notes`, shown by /api/health)."""
        listing = self.specs.get(XBT_PRICE_SYMBOL)
        if self.parser.xbt_usd is not None:
            xbt = f"{self.parser.xbt_usd} (live instrument:XBTUSD)"
        elif listing is not None and listing.mark_price is not None:
            xbt = f"{listing.mark_price} (instrument list mark price)"
        else:
            xbt = "not known yet: quanto liquidations are held"
        return {
            "side": "order side, Sell = long liquidated (read so by every client, not stated)",
            "growth": "a leavesQty rise above the most counted counts as a new liquidation "
            "(inferred: the engine merged another liquidated position)",
            "time": "BitMEX sends no time: ts is the collector's receive time",
            "quanto_xbt_usd": xbt,
        }
