"""The HTX venue: `public.*.liquidation_orders` on the USDT-M and the coin-M endpoint.

Two connections, `<ws>/linear-swap-notification` (`htx-linear`: USDT-M swaps and futures)
and `<ws>/swap-notification` (`htx-inverse`: coin-M swaps). Every frame both ways from the
server is gzip (`gunzip_text` is the feeds' decode hook); we send plain text, which HTX
accepts. Subscribe `{"op":"sub","cid":…,"topic":"public.*.liquidation_orders"}` and wait for
the ack's `err-code` 0; the USDT-M request also says `business_type: all`, which the docs
describe as what the wildcard covers (swaps only without it, in the recorded runs); if HTX
refuses that field the plain wildcard is subscribed instead (logged, and `notes()` says the
USDT-M futures are then not collected: what /api/health shows).

Heartbeat: the server sends `{"op":"ping","ts":…}` every 5 s and drops a client after 5
unanswered ones; the parser answers each with the pong (also during subscribe). Liveness:
`htx_quiet_seconds` without any frame (two missed pings) gets a protocol ping.

Contract sizes: `<rest>/linear-swap-api/v1/swap_contract_info?business_type=all` (swaps and
futures; the plain list holds swaps only) and `<rest>/swap-api/v1/swap_contract_info`, one
cache per connection, read with exact numbers.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from functools import partial
from typing import Any, Final

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.exactjson import load_exact
from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.venue import Deliver, FeedSpec, SubscribeError, recv_json
from liqmon_htx.parser import (
    PRODUCTS,
    TOPIC,
    LiquidationOrdersParser,
    gunzip_text,
    parse_contract_info,
    pong,
)
from liqmon_htx.settings import HtxSettings

WS_PATHS: Final = {"linear": "/linear-swap-notification", "inverse": "/swap-notification"}
CONTRACT_INFO: Final = {
    "linear": "/linear-swap-api/v1/swap_contract_info?business_type=all",
    "inverse": "/swap-api/v1/swap_contract_info",
}
_cids = itertools.count(1)
logger = logging.getLogger(__name__)


def sub_request(all_businesses: bool) -> str:
    request: dict[str, str] = {"op": "sub", "cid": f"liqmon-{next(_cids)}", "topic": TOPIC}
    if all_businesses:
        request["business_type"] = "all"
    return orjson.dumps(request).decode()


def _load_frame(decode: Callable[[bytes], str], raw: str | bytes) -> Any:
    return load_exact(decode(raw) if isinstance(raw, bytes) else raw)


#: What each connection's subscription covers, by what HTX acknowledged (`notes`).
COVERAGE: Final = {
    ("linear", True): "USDT-M swaps and futures (business_type=all acknowledged; that the "
    "wildcard then covers futures is inferred from the docs)",
    ("linear", False): "USDT-M swaps only: HTX refused business_type=all, so USDT-M futures "
    "liquidations are NOT collected",
    ("inverse", False): "coin-M swaps (coin-M futures are not collected)",
}


async def subscribe(
    margin: str,
    decode: Callable[[bytes], str],
    ws: ClientConnection,
    deliver: Deliver,
    *,
    covered: Callable[[str], None] | None = None,
) -> None:
    """Send the wildcard subscription and return once HTX acknowledges it; pings that come
    first are answered, anything else is delivered. A USDT-M subscription asks for every
    business type; if HTX refuses that field, the plain wildcard (swaps) is better than none.
    `covered` is told what the acknowledged subscription covers (`COVERAGE`)."""
    wide = margin == "linear"
    await ws.send(sub_request(wide))
    while True:
        raw, msg = await recv_json(ws, partial(_load_frame, decode))
        if isinstance(msg, dict) and msg.get("op") == "ping":
            await ws.send(pong(msg.get("ts")))
            continue
        if isinstance(msg, dict) and msg.get("op") == "sub" and msg.get("topic") == TOPIC:
            if msg.get("err-code") == 0:
                if covered is not None:
                    covered(COVERAGE[margin, wide])
                return
            refusal = f"{msg.get('err-code')} {msg.get('err-msg')!r:.200}"
            if wide:
                logger.warning(
                    "htx refused business_type=all (%s): subscribing without it (swaps only)",
                    refusal,
                )
                wide = False
                await ws.send(sub_request(wide))
                continue
            raise SubscribeError(f"htx refused {TOPIC}: {refusal}")
        reply = deliver(raw)
        if reply is not None:
            await ws.send(reply)


async def load_contract_sizes(rest_url: str, margin: str) -> dict[str, Any]:
    doc = await fetch_json(rest_url.rstrip("/") + CONTRACT_INFO[margin], loads=load_exact)
    return parse_contract_info(doc)


class HtxVenue:
    exchange = "htx"

    def __init__(self, settings: HtxSettings) -> None:
        self.settings = settings
        self.decode = partial(gunzip_text, limit=settings.collector_max_frame_bytes)
        self.specs: dict[str, SpecCache[Any]] = {
            margin: SpecCache.of_collector(
                f"htx {margin} contracts",
                partial(load_contract_sizes, settings.htx_rest_url, margin),
                settings,
            )
            for margin in PRODUCTS
        }
        #: per product, what its last acknowledged subscription covers
        self.coverage: dict[str, str] = dict.fromkeys(PRODUCTS.values(), "not subscribed yet")

    def _covered(self, product: str, text: str) -> None:
        self.coverage[product] = text

    def notes(self) -> dict[str, str]:
        """What HTX's numbers rest on (the status hash's `notes`, shown by /api/health)."""
        return {
            **{f"coverage_{product}": text for product, text in self.coverage.items()},
            "sampled": "no: every liquidation pushed (inferred: HTX documents no throttling "
            "either way)",
            "units": "volume contracts x contract_size (swap_contract_info): coins (USDT-M, "
            "checked against each push's amount) or USD (coin-M)",
        }

    def feeds(self) -> list[FeedSpec]:
        base = self.settings.htx_ws_url.rstrip("/")
        return [
            FeedSpec(
                product=product,
                url=base + WS_PATHS[margin],
                parser=LiquidationOrdersParser(margin, self.specs[margin]),
                subscribe=partial(
                    subscribe, margin, self.decode, covered=partial(self._covered, product)
                ),
                quiet_seconds=self.settings.htx_quiet_seconds,
                caches=(self.specs[margin],),
                decode=self.decode,
            )
            for margin, product in PRODUCTS.items()
        ]

    def caches(self) -> list[SpecCache[Any]]:
        return list(self.specs.values())
