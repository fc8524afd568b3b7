"""The venue registry: every exchange liqmon collects from, one row each.

Everything that needs to know which venues exist asks this module: event validation (which
exchange/product pairs are valid), whether a venue's feed is a sample, `liqmon run
collector-<x>`, `liqmon up`, the web's expected collectors, the dashboard's venue list and
the exchange simulator's plug-ins. Adding a venue is its collector package
(`services/collector-<exchange>/`), its simulator module, its docs row (docs/VENUES.md) and
ONE row of the `VENUES` table here; nothing else lists venues.

This module imports nothing of the collectors or the simulator (the web and the event model
read it), so the rows name their packages as import strings, as uvicorn names protocols.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Final

COLLECTOR_PREFIX: Final = "collector-"


def service_name(exchange: str) -> str:
    """`okx` -> `collector-okx`: a collector's service name, its log and Redis client name
    and the `source` of its dead letters."""
    return f"{COLLECTOR_PREFIX}{exchange}"


@dataclass(frozen=True, slots=True)
class VenueInfo:
    """One exchange.

    `exchange` is the event's `exchange` field, the status/gap key name and the service
    name's suffix (`collector-<exchange>`). `sampled`: the venue publishes at most one
    liquidation per contract per second (so its totals are lower bounds); every event of a
    sampled venue carries `sampled = 1`, and the aggregator counts its capped seconds.
    `package` is the collector's Python package; its `main` module defines `SETTINGS`,
    `VENUE` and `main(argv)`. `sim` is the simulator plug-in module (`PLUGIN`), or None.
    """

    exchange: str
    name: str
    products: tuple[str, ...]
    sampled: bool
    package: str
    sim: str | None = None

    @property
    def service(self) -> str:
        return service_name(self.exchange)

    @property
    def main_module(self) -> str:
        return f"{self.package}.main"

    def load_main(self) -> ModuleType:
        """The collector's `main` module (imports the collector package)."""
        return importlib.import_module(self.main_module)


def _row(exchange: str, name: str, products: tuple[str, ...], sampled: bool) -> VenueInfo:
    """A venue laid out as every venue is: collector package `liqmon_<exchange>`
    (`services/collector-<exchange>/`), simulator plug-in `liqmon_sim.venues.<exchange>`."""
    return VenueInfo(
        exchange, name, products, sampled, f"liqmon_{exchange}", f"liqmon_sim.venues.{exchange}"
    )


# fmt: off
VENUES: Final[tuple[VenueInfo, ...]] = tuple(_row(*row) for row in (
    # exchange   name              products                                              sampled
    ("binance",  "Binance",        ("binance-usdm", "binance-coinm"),                     True),
    ("okx",      "OKX",            ("okx-swap", "okx-futures"),                           True),
    ("bybit",    "Bybit",          ("bybit-linear", "bybit-inverse"),                     False),
    ("htx",      "HTX",            ("htx-linear", "htx-inverse"),                         False),
    ("gate",     "Gate",           ("gate-usdt",),                                        True),
    ("bitmex",   "BitMEX",         ("bitmex-inverse", "bitmex-linear", "bitmex-quanto"),  False),
    ("deribit",  "Deribit",        ("deribit-inverse", "deribit-linear"),                 False),
    ("dydx",     "dYdX",           ("dydx-perpetual",),                                   False),
    ("kraken",   "Kraken Futures", ("kraken-inverse", "kraken-linear"),                   False),
    ("bitfinex", "Bitfinex",       ("bitfinex-perpetual",),                               False),
))
# fmt: on

BY_EXCHANGE: Final[dict[str, VenueInfo]] = {v.exchange: v for v in VENUES}
EXCHANGES: Final[tuple[str, ...]] = tuple(BY_EXCHANGE)
#: Products by exchange (what `LiquidationEvent` accepts).
PRODUCTS: Final[dict[str, tuple[str, ...]]] = {v.exchange: v.products for v in VENUES}
#: Exchanges whose feed is a sample (at most one liquidation per contract per second).
SAMPLED_EXCHANGES: Final[frozenset[str]] = frozenset(v.exchange for v in VENUES if v.sampled)


def venue(exchange: str) -> VenueInfo:
    """The row of an exchange; KeyError names the known ones."""
    try:
        return BY_EXCHANGE[exchange]
    except KeyError:
        raise KeyError(f"unknown exchange {exchange!r}; known: {', '.join(EXCHANGES)}") from None


def from_service(service: str) -> VenueInfo | None:
    """`collector-okx` -> the OKX row; None for a service that is not a collector."""
    if not service.startswith(COLLECTOR_PREFIX):
        return None
    return BY_EXCHANGE.get(service.removeprefix(COLLECTOR_PREFIX))


def parse_venue_list(text: str) -> tuple[VenueInfo, ...]:
    """`"binance, okx"` (or `collector-okx`, or `all`) -> rows, in registry order.

    Raises ValueError naming the unknown entries; an empty text means every venue.
    """
    names = [part.strip().removeprefix(COLLECTOR_PREFIX) for part in text.split(",")]
    names = [n for n in names if n]
    if not names or names == ["all"]:
        return VENUES
    unknown = [n for n in names if n not in BY_EXCHANGE]
    if unknown:
        raise ValueError(f"unknown venue(s) {', '.join(unknown)}; known: {', '.join(EXCHANGES)}")
    wanted = set(names)
    return tuple(v for v in VENUES if v.exchange in wanted)
