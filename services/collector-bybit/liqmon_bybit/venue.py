"""The Bybit venue: `allLiquidation.{symbol}` for every linear and inverse contract.

Bybit has no all-symbols liquidation topic, so the collector lists the symbols first:
`<rest>/v5/market/instruments-info?category=linear|inverse&limit=…` page by page (following
`nextPageCursor`), reloaded every `bybit_listing_refresh_seconds`. The topics of the symbols
with status `Trading` are spread over connections to `<ws>/linear` and `<ws>/inverse` (at
most `bybit_topics_per_connection` each, `liqmon.collector.topics`), opened at runtime
through the collector's feed pool; each reload subscribes new listings and unsubscribes
delistings without a restart. An empty or failed reload changes nothing.

Heartbeat: `{"op":"ping"}` every `bybit_ping_seconds` (Bybit recommends 20 s) on each
connection, busy or not; an unanswered ping drops and reopens the connection.

A symbol Bybit refuses is left out so the others flow, and asked for again after
`bybit_refused_retry_seconds`, doubling while it keeps being refused (at most the listing
refresh period); the backoff starts over once a retry is quiet for a whole cap.
"""

from __future__ import annotations

import asyncio
import logging
import math
from functools import partial
from typing import Any
from urllib.parse import urlencode

from liqmon.backoff import Backoff
from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.pool import FeedPool
from liqmon.collector.timing import wait_any
from liqmon.collector.topics import ShardedTopics, TopicShard, send_live
from liqmon.collector.venue import FeedSpec
from liqmon_bybit.inverse_unit import InverseUnit
from liqmon_bybit.parser import (
    CATEGORIES,
    PRODUCTS,
    AllLiquidationParser,
    BybitInstrument,
    parse_instruments_page,
    topic,
)
from liqmon_bybit.settings import BybitSettings
from liqmon_bybit.subscriptions import PING, RequestLimits, live_requests, subscribe_shard

logger = logging.getLogger(__name__)
INSTRUMENTS_PATH = "/v5/market/instruments-info"
MAX_PAGES = 100


async def load_listing(rest_url: str, category: str, limit: int) -> dict[str, BybitInstrument]:
    """Every instrument of a category, following `nextPageCursor` to the last page."""
    base = rest_url.rstrip("/") + INSTRUMENTS_PATH
    out: dict[str, BybitInstrument] = {}
    cursor, seen = "", set()
    for _ in range(MAX_PAGES):
        query = {"category": category, "limit": str(limit)}
        if cursor:
            query["cursor"] = cursor
        page, cursor = parse_instruments_page(
            await fetch_json(f"{base}?{urlencode(query)}"), category
        )
        out.update(page)
        if not cursor:
            return out
        if cursor in seen:
            raise ValueError(f"instruments-info {category}: nextPageCursor repeats")
        seen.add(cursor)
    raise ValueError(f"instruments-info {category}: more than {MAX_PAGES} pages")


class BybitVenue:
    exchange = "bybit"

    def __init__(self, settings: BybitSettings) -> None:
        self.settings = settings
        self.limits = RequestLimits(
            settings.bybit_topics_per_request, settings.bybit_args_max_chars
        )
        #: The latest listing's `Trading` symbols per category (what should be subscribed).
        self.listed: dict[str, set[str]] = {c: set() for c in CATEGORIES}
        self._listing_changed = asyncio.Event()
        self.specs: dict[str, SpecCache[BybitInstrument]] = {
            c: SpecCache.of_collector(
                f"bybit {c} instruments",
                partial(self._load, c),
                settings,
                settings.bybit_listing_refresh_seconds,
            )
            for c in CATEGORIES
        }
        self.inverse_unit = InverseUnit()  # checked against the listing (inverse_unit.py)
        self.parsers = {
            c: AllLiquidationParser(c, self.specs[c], self.inverse_unit) for c in CATEGORIES
        }
        self.shards: dict[str, ShardedTopics] = {}
        self._refusal = asyncio.Event()  # a subscribe hook left a refused topic out
        self.refused_retry = Backoff(
            settings.bybit_refused_retry_seconds,
            max(settings.bybit_refused_retry_seconds, settings.bybit_listing_refresh_seconds),
            jitter=0.5,
        )

    async def _load(self, category: str) -> dict[str, BybitInstrument]:
        s = self.settings
        instruments = await load_listing(s.bybit_rest_url, category, s.bybit_page_limit)
        trading = {sym for sym, spec in instruments.items() if spec.status == "Trading"}
        if trading:
            self.listed[category] = trading
            self._listing_changed.set()
        else:
            logger.warning("bybit %s listing has no Trading symbols; subscriptions kept", category)
        return instruments

    def feeds(self) -> list[FeedSpec]:
        return []  # every connection depends on the listing: opened in `supervise`

    def caches(self) -> list[SpecCache[Any]]:
        return list(self.specs.values())

    def notes(self) -> dict[str, str]:
        """What the inverse totals rest on (the status hash's `notes`, /api/health)."""
        return self.inverse_unit.notes()

    def _feed_spec(self, category: str, shard: TopicShard) -> FeedSpec:
        return FeedSpec(
            product=shard.label,
            url=f"{self.settings.bybit_ws_url.rstrip('/')}/{category}",
            parser=self.parsers[category],
            subscribe=partial(subscribe_shard, shard, self.limits, self._refusal.set),
            text_ping=PING,
            quiet_seconds=self.settings.bybit_ping_seconds,
            ping_when_busy=True,
        )

    async def supervise(self, pool: FeedPool, stop: asyncio.Event) -> None:
        """Keep the connections' topics equal to the latest listing."""
        self.shards = {
            c: ShardedTopics(
                PRODUCTS[c],
                capacity=self.settings.bybit_topics_per_connection,
                make_spec=partial(self._feed_spec, c),
                send_changes=partial(send_live, partial(live_requests, self.limits)),
                pool=pool,
            )
            for c in CATEGORIES
        }
        loop = asyncio.get_running_loop()
        retry_at: float | None = None
        last_retry = -math.inf
        while True:
            timeout = None if retry_at is None else max(retry_at - loop.time(), 0.0)
            await wait_any(stop, self._listing_changed, self._refusal, timeout=timeout)
            if stop.is_set():
                return
            if self._refusal.is_set():
                self._refusal.clear()
                if retry_at is None:
                    if loop.time() - last_retry > self.refused_retry.maximum:
                        self.refused_retry.reset()  # the last retry held: a new refusal
                    retry_at = loop.time() + self.refused_retry.next()
            if retry_at is not None and loop.time() >= retry_at:
                retry_at, last_retry = None, loop.time()
                retried = sum(group.retry_refused() for group in self.shards.values())
                logger.info("bybit: asking again for %d refused topics", retried)
            if not self._listing_changed.is_set():
                continue
            self._listing_changed.clear()
            for category, group in self.shards.items():
                wanted = {topic(sym) for sym in self.listed[category]}
                current = group.topics()
                if wanted and wanted != current:
                    logger.info(
                        "bybit %s: %d topics (+%d -%d)",
                        category, len(wanted), len(wanted - current), len(current - wanted),
                    )  # fmt: skip
                    await group.update(wanted)
