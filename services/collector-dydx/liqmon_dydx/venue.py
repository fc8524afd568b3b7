"""The dYdX v4 venue: `v4_trades` of every perpetual market, at most 32 per connection.

The market list is `GET <rest>/v4/perpetualMarkets` (reloaded every
`dydx_listing_refresh_seconds`); every market it lists is subscribed with
`{"type":"subscribe","channel":"v4_trades","id":"<MARKET>"}`. The indexer allows at most 32
`v4_trades` subscriptions per connection, so markets are spread over connections
(`liqmon.collector.topics`, labels `dydx-perpetual`, `dydx-perpetual#2`, …); new listings are
subscribed and delistings unsubscribed on the open connections.

Each subscription is answered with `subscribed`, whose `contents.trades` is recent history:
the hook hands it to the parser like any frame, so liquidations it holds are written once
(the ids are the venue's) and a reconnect recovers what the outage missed. Liveness: the
indexer pings every 30 s (the client library answers); the collector sends its own protocol
ping after `dydx_ping_seconds` of silence and drops a connection that does not answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from functools import partial
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.listing import FollowedListing, answers
from liqmon.collector.pool import FeedPool
from liqmon.collector.topics import ShardedTopics, TopicShard, send_live
from liqmon.collector.venue import Deliver, FeedSpec, SubscribeError
from liqmon_dydx.parser import CHANNEL, EXCHANGE, PRODUCT, TradesParser, parse_markets
from liqmon_dydx.settings import DydxSettings

MARKETS_PATH = "/v4/perpetualMarkets"
#: A refused market is asked for this many times in all before it is given up.
REFUSALS = 3


def request(op: str, market: str) -> str:
    return orjson.dumps({"type": op, "channel": CHANNEL, "id": market}).decode()


async def subscribe_markets(
    shard: TopicShard,
    interval: float,
    pause: float,
    ws: ClientConnection,
    deliver: Deliver,
) -> None:
    """The `FeedSpec.subscribe` hook of one connection: subscribe its markets, return once
    each is answered. Every frame (the `subscribed` histories included) goes to `deliver`.

    A refusal names its market (`{"type":"error","id":…}`). The market is listed, so the
    refusal may be passing (the indexer rate-limits subscribes): it is asked for again after
    `pause` seconds, and only after `REFUSALS` refusals remembered in `shard.refused` and not
    asked for again on this connection's shard. A refusal naming no market ends the attempt
    (`SubscribeError`: the runtime reconnects with backoff)."""
    shard.ws = ws
    pending = set(shard.wanted)
    refusals: Counter[str] = Counter()
    for market in shard.wanted:
        await ws.send(request("subscribe", market))
        if interval:
            await asyncio.sleep(interval)
    if not pending:
        return
    async with contextlib.aclosing(answers(ws, deliver)) as frames:
        async for msg in frames:
            answered = msg.get("id")
            if msg.get("type") == "subscribed" and answered in pending:
                pending.discard(answered)
            elif msg.get("type") == "error":
                if not isinstance(answered, str) or answered not in pending:
                    reason = f"{msg.get('message')!r:.200}"
                    raise SubscribeError(f"dydx refused a subscription: {reason}")
                refusals[answered] += 1
                if refusals[answered] < REFUSALS:
                    await asyncio.sleep(pause)
                    await ws.send(request("subscribe", answered))
                else:
                    pending.discard(answered)
                    shard.refused.add(answered)
            if not pending:
                return


def requests(op: str, markets: list[str]) -> Iterator[str]:
    """One market a request (the live changes: `topics.send_live`)."""
    return (request(op, market) for market in markets)


class DydxVenue:
    exchange = EXCHANGE

    def __init__(self, settings: DydxSettings) -> None:
        self.settings = settings
        self.parser = TradesParser()
        self.listing = FollowedListing("dydx markets", self._group)
        self.markets: SpecCache[str] = SpecCache.of_collector(
            "dydx markets", self._load, settings, settings.dydx_listing_refresh_seconds
        )

    async def _load(self) -> dict[str, str]:
        url = self.settings.dydx_rest_url.rstrip("/") + MARKETS_PATH
        markets = parse_markets(await fetch_json(url))
        self.listing.offer(set(markets))
        return markets

    def notes(self) -> dict[str, str]:
        """What dYdX's numbers rest on (the status hash's `notes`, shown by /api/health)."""
        return {
            "side": "the liquidated taker's fill side (type LIQUIDATED): SELL = long liquidated",
            "units": "size in coins, price in USD (USDC); dust fills count at $0.00",
            "markets": str(len(self.listing.wanted)),
            "markets_refused": self.listing.refused_text(),
        }

    def feeds(self) -> list[FeedSpec]:
        return []  # every connection depends on the market list: opened in `supervise`

    def caches(self) -> list[SpecCache[Any]]:
        return [self.markets]

    def _group(self, pool: FeedPool) -> ShardedTopics:
        return ShardedTopics(
            PRODUCT,
            capacity=self.settings.dydx_markets_per_connection,
            make_spec=self._feed_spec,
            send_changes=partial(send_live, requests),
            pool=pool,
        )

    def _feed_spec(self, shard: TopicShard) -> FeedSpec:
        return FeedSpec(
            product=shard.label,
            url=self.settings.dydx_ws_url,
            parser=self.parser,
            subscribe=partial(
                subscribe_markets,
                shard,
                self.settings.dydx_subscribe_interval_seconds,
                self.settings.dydx_resubscribe_pause_seconds,
            ),
            quiet_seconds=self.settings.dydx_ping_seconds,
        )

    async def supervise(self, pool: FeedPool, stop: asyncio.Event) -> None:
        await self.listing.supervise(pool, stop)
