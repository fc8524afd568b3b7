"""The BitMEX venue: one connection subscribed to `liquidation` (every instrument) and
`instrument:XBTUSD` (the XBT/USD price quanto contracts are converted with).

The WS URL is used as configured; specs come from `<rest>/api/v1/instrument/active`
(`isInverse`, `isQuanto`, `multiplier`, `underlyingToPositionMultiplier`, `quoteCurrency`,
and XBTUSD's `markPrice` until the live table has sent one). Keepalive is the text `ping`
after `bitmex_ping_seconds` of quiet (BitMEX answers `pong`; its welcome says
`heartbeatEnabled: false`, i.e. it sends nothing on a quiet table).
"""

from __future__ import annotations

from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.venue import Deliver, FeedSpec, SubscribeError
from liqmon_bitmex.parser import (
    TABLE,
    XBT_PRICE_SYMBOL,
    BitmexInstrument,
    LiquidationParser,
    parse_instruments,
)
from liqmon_bitmex.settings import BitmexSettings

INSTRUMENTS_PATH = "/api/v1/instrument/active"
TOPICS = (TABLE, f"instrument:{XBT_PRICE_SYMBOL}")
SUBSCRIBE = orjson.dumps({"op": "subscribe", "args": list(TOPICS)}).decode()


async def load_specs(rest_url: str) -> dict[str, BitmexInstrument]:
    return parse_instruments(await fetch_json(rest_url.rstrip("/") + INSTRUMENTS_PATH))


async def subscribe(ws: ClientConnection, deliver: Deliver) -> None:
    """Subscribe to both topics; return once both are acknowledged. The welcome and the
    tables' `partial` snapshots that arrive meanwhile go to the parser."""
    await ws.send(SUBSCRIBE)
    waiting = set(TOPICS)
    while waiting:
        raw = await ws.recv()
        try:
            msg = orjson.loads(raw) if raw != "pong" else None
        except orjson.JSONDecodeError:
            msg = None
        if isinstance(msg, dict) and msg.get("success") is True and "subscribe" in msg:
            waiting.discard(str(msg["subscribe"]))
            continue
        if isinstance(msg, dict) and (msg.get("success") is False or "error" in msg):
            raise SubscribeError(
                f"bitmex refused the subscription: {msg.get('status')} {msg.get('error')}"
            )
        deliver(raw)


class BitmexVenue:
    exchange = "bitmex"
    source = "collector-bitmex"

    def __init__(self, settings: BitmexSettings) -> None:
        self.settings = settings
        rest = settings.bitmex_rest_url

        async def fetch() -> dict[str, BitmexInstrument]:
            return await load_specs(rest)

        self.specs: SpecCache[BitmexInstrument] = SpecCache(
            "bitmex instruments",
            fetch,
            refresh_seconds=settings.collector_spec_refresh_seconds,
            min_gap_seconds=settings.collector_spec_min_gap_seconds,
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
