"""The Kraken Futures venue: the `trade` feed of every listed contract (PI_, FI_, PF_, FF_).

Product ids are required to subscribe, so the collector lists the instruments first
(`GET <rest>/derivatives/api/v3/instruments`, reloaded every `kraken_listing_refresh_seconds`,
which also refreshes the contract sizes the parser values liquidations with) and subscribes
every tradeable contract: `{"event":"subscribe","feed":"trade","product_ids":[…]}` in requests
of at most `kraken_products_per_request` ids, acknowledged per product
(`{"event":"subscribed","feed":"trade","product_ids":["PI_XBTUSD"]}`). A product refused
(`subscribed_failed`, or an error naming it) is not asked for again while listed. After each
ack Kraken sends a `trade_snapshot` of recent trades: the hook hands it to the parser, so its
liquidations are written once (ids over `uid`) and a reconnect recovers what an outage missed.

Keepalive: Kraken closes connections without a ping for 60 s; a protocol ping goes out every
`kraken_ping_seconds` (30) whether or not trades flow, and an unanswered one reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.exactjson import load_exact
from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.listing import FollowedListing, answers
from liqmon.collector.pool import FeedPool
from liqmon.collector.topics import ShardedTopics, TopicShard, send_live
from liqmon.collector.venue import Deliver, FeedSpec
from liqmon_kraken.parser import (
    EXCHANGE,
    FEED,
    KrakenInstrument,
    TradeParser,
    parse_instruments,
    wanted,
)
from liqmon_kraken.settings import KrakenSettings

INSTRUMENTS_PATH = "/derivatives/api/v3/instruments"
#: Label of the connection(s): one connection carries both products' contracts.
LABEL = "kraken-inverse+linear"


def request(op: str, products: list[str]) -> str:
    return orjson.dumps({"event": op, "feed": FEED, "product_ids": products}).decode()


def _acked(msg: dict[str, Any]) -> tuple[str, list[str]]:
    """(event, product ids) of a (un)subscribe answer; ("", []) for anything else."""
    event, ids = msg.get("event"), msg.get("product_ids")
    if not isinstance(event, str) or not isinstance(ids, list):
        return "", []
    return event.strip(), [p for p in ids if isinstance(p, str)]


async def subscribe_products(
    shard: TopicShard, per_request: int, ws: ClientConnection, deliver: Deliver
) -> None:
    """The `FeedSpec.subscribe` hook: subscribe the shard's products; return once each one
    is acknowledged or refused. Every frame (snapshots included) goes to `deliver`."""
    shard.ws = ws
    products = shard.wanted
    pending = set(products)
    for start in range(0, len(products), per_request):
        await ws.send(request("subscribe", products[start : start + per_request]))
    if not pending:
        return
    async with contextlib.aclosing(answers(ws, deliver)) as frames:
        async for msg in frames:
            event, ids = _acked(msg)
            if event == "subscribed":
                pending.difference_update(ids)
            elif event in ("subscribed_failed", "error", "alert"):
                refused = set(ids) or {p for p in pending if p in str(msg.get("message", ""))}
                shard.refused.update(refused & pending)
                pending -= refused
            if not pending:
                return


def requests(per_request: int, op: str, products: list[str]) -> Iterator[str]:
    """`per_request` products a request (the live changes: `topics.send_live`)."""
    for start in range(0, len(products), per_request):
        yield request(op, products[start : start + per_request])


class KrakenVenue:
    exchange = EXCHANGE

    def __init__(self, settings: KrakenSettings) -> None:
        self.settings = settings
        self.listing = FollowedListing("kraken products", self._group)
        self.specs: SpecCache[KrakenInstrument] = SpecCache.of_collector(
            "kraken instruments", self._load, settings, settings.kraken_listing_refresh_seconds
        )
        self.parser = TradeParser(self.specs)

    async def _load(self) -> dict[str, KrakenInstrument]:
        url = self.settings.kraken_rest_url.rstrip("/") + INSTRUMENTS_PATH
        instruments = parse_instruments(await fetch_json(url, loads=load_exact))
        self.listing.offer({s for s, spec in instruments.items() if spec.tradeable and wanted(s)})
        return instruments

    def notes(self) -> dict[str, str]:
        """What Kraken's numbers rest on (the status hash's `notes`, shown by /api/health)."""
        return {
            "side": "the taker's side, taken as the liquidated account's order side: sell = "
            "long liquidated (inferred: Kraken does not say the liquidated account takes)",
            "units": "PI_/FI_ qty in USD contracts x contractSize; PF_/FF_ qty x contractSize "
            "coins (the PF_ unit inferred: no recorded PF_ liquidation)",
            "products": str(len(self.listing.wanted)),
            "products_refused": self.listing.refused_text(),
        }

    def feeds(self) -> list[FeedSpec]:
        return []  # the product ids come from the listing: opened in `supervise`

    def caches(self) -> list[SpecCache[Any]]:
        return [self.specs]

    def _group(self, pool: FeedPool) -> ShardedTopics:
        per_request = self.settings.kraken_products_per_request
        return ShardedTopics(
            LABEL,
            capacity=self.settings.kraken_products_per_connection,
            make_spec=self._feed_spec,
            send_changes=partial(send_live, partial(requests, per_request)),
            pool=pool,
        )

    def _feed_spec(self, shard: TopicShard) -> FeedSpec:
        return FeedSpec(
            product=shard.label,
            url=self.settings.kraken_ws_url,
            parser=self.parser,
            subscribe=partial(subscribe_products, shard, self.settings.kraken_products_per_request),
            quiet_seconds=self.settings.kraken_ping_seconds,
            ping_when_busy=True,
            caches=(self.specs,),
        )

    async def supervise(self, pool: FeedPool, stop: asyncio.Event) -> None:
        await self.listing.supervise(pool, stop)
