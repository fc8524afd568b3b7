"""Settings of the dYdX v4 collector (env `LIQMON_DYDX_*`; URLs are used exactly as given)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class DydxSettings(CollectorSettings):
    #: The indexer's WebSocket, used as is (no path appended).
    dydx_ws_url: str = "wss://indexer.dydx.trade/v4/ws"
    #: The indexer's REST root; the collector reads `<rest>/v4/perpetualMarkets`.
    dydx_rest_url: str = "https://indexer.dydx.trade"
    #: `v4_trades` subscriptions per connection: the indexer refuses more than 32.
    dydx_markets_per_connection: int = Field(32, ge=1, le=32)
    #: Liveness: a protocol ping after this much silence (the indexer pings every 30 s too).
    dydx_ping_seconds: float = Field(30.0, gt=0)
    #: Pause between two subscribe requests on one connection (the indexer rate-limits them).
    dydx_subscribe_interval_seconds: float = Field(0.0, ge=0, le=1.0)
    #: A refused subscription is sent again after this pause (twice, then given up): the
    #: indexer rate-limits subscribes, so a refusal of a listed market may be passing.
    dydx_resubscribe_pause_seconds: float = Field(1.0, ge=0, le=3.0)
    #: How often the market list is reloaded (new listings, delistings).
    dydx_listing_refresh_seconds: float = Field(300.0, gt=0)
