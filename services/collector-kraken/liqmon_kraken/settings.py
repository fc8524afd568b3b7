"""Settings of the Kraken Futures collector (env `LIQMON_KRAKEN_*`; URLs used exactly as given)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class KrakenSettings(CollectorSettings):
    #: The Futures WebSocket, used as is (no path appended).
    kraken_ws_url: str = "wss://futures.kraken.com/ws/v1"
    #: The Futures REST root; the collector reads `<rest>/derivatives/api/v3/instruments`.
    kraken_rest_url: str = "https://futures.kraken.com"
    #: Kraken asks for a ping at least every 60 s: a protocol ping this often, busy or not.
    kraken_ping_seconds: float = Field(30.0, gt=0, le=55.0)
    #: Product ids per subscribe request and per connection.
    kraken_products_per_request: int = Field(100, ge=1)
    kraken_products_per_connection: int = Field(1000, ge=1)
    #: How often the instrument list is reloaded (contract sizes, new listings).
    kraken_listing_refresh_seconds: float = Field(300.0, gt=0)
