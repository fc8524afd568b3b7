"""The exchange-agnostic collector runtime every venue collector shares.

A venue package (liqmon_binance, liqmon_okx, liqmon_bybit) supplies a `Venue`: its feeds
(`FeedSpec`: URL, `FrameParser`, subscribe hook, keepalive style, max connection lifetime)
and its instrument `SpecCache`s. This package supplies everything else, identically for all:
connection liveness and reconnects (`connection`), the buffered ordered writer (`writer`),
status and gaps (`status`), dead letters (`deadletters`), events held for a spec (`held`),
and the `CollectorService` that wires them (`service`).
"""

from liqmon.collector.frames import (
    BadPart,
    FrameParser,
    FrameResult,
    Held,
    MalformedFrame,
    SpecMissing,
    SpecSource,
    parse,
)
from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.service import CollectorService
from liqmon.collector.settings import CollectorSettings
from liqmon.collector.venue import FeedSpec, SubscribeError, Venue

__all__ = [
    "BadPart",
    "CollectorService",
    "CollectorSettings",
    "FeedSpec",
    "FrameParser",
    "FrameResult",
    "Held",
    "MalformedFrame",
    "SpecCache",
    "SpecMissing",
    "SpecSource",
    "SubscribeError",
    "Venue",
    "fetch_json",
    "parse",
]
