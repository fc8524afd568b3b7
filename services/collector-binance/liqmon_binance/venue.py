"""The Binance venue: USDⓈ-M and COIN-M `!forceOrder@arr`, one connection each.

URLs: the configured bases get the exchange paths appended - `<ws base>/ws/!forceOrder@arr`
(raw mode) and `<rest base>/fapi/v1/exchangeInfo` / `/dapi/v1/exchangeInfo` - so pointing a
base at `ws://127.0.0.1:PORT` is all a test or the simulator needs. Binance sends protocol
ping frames (answered by the websockets library); the collector sends its own when the feed
is quiet, and rolls over before Binance's 24 h cut-off.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.venue import FeedSpec
from liqmon_binance.parser import COINM, USDM, BinanceSpec, ForceOrderParser, parse_exchange_info
from liqmon_binance.settings import BinanceSettings

STREAM_PATH = "/ws/!forceOrder@arr"
EXCHANGE_INFO = {USDM: "/fapi/v1/exchangeInfo", COINM: "/dapi/v1/exchangeInfo"}


async def load_specs(url: str, product: str) -> dict[str, BinanceSpec]:
    return parse_exchange_info(await fetch_json(url), product)


class BinanceVenue:
    exchange = "binance"

    def __init__(self, settings: BinanceSettings) -> None:
        self.settings = settings
        rest = {USDM: settings.binance_usdm_rest_url, COINM: settings.binance_coinm_rest_url}
        self.specs: dict[str, SpecCache[BinanceSpec]] = {
            product: SpecCache.of_collector(
                f"{product} exchangeInfo",
                partial(load_specs, rest[product].rstrip("/") + EXCHANGE_INFO[product], product),
                settings,
            )
            for product in (USDM, COINM)
        }

    def feeds(self) -> list[FeedSpec]:
        s = self.settings
        ws = {USDM: s.binance_usdm_ws_url, COINM: s.binance_coinm_ws_url}
        return [
            FeedSpec(
                product=product,
                url=ws[product].rstrip("/") + STREAM_PATH,
                parser=ForceOrderParser(product, self.specs[product]),
                quiet_seconds=s.binance_ping_seconds,
                max_lifetime=s.binance_max_conn_seconds,
                caches=(self.specs[product],),
            )
            for product in (USDM, COINM)
        ]

    def caches(self) -> list[SpecCache[Any]]:
        return list(self.specs.values())
