"""Settings of the Deribit collector (env names are fixed; see docs/venues/deribit.md)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class DeribitSettings(CollectorSettings):
    #: Used exactly as given.
    deribit_ws_url: str = "wss://www.deribit.com/ws/api/v2"
    #: The collector appends `/api/v2/public/get_instruments?currency=…&kind=future`.
    deribit_rest_url: str = "https://www.deribit.com"
    #: `trades.future.{currency}.100ms` per currency (`raw` needs an API key).
    deribit_currencies: tuple[str, ...] = ("BTC", "ETH", "USDC")
    #: `public/set_heartbeat` interval: Deribit then sends a `test_request` this often and
    #: closes the connection if one goes unanswered (at least 10 s).
    deribit_heartbeat_seconds: int = Field(30, ge=10, le=3600)
    #: Liveness: a `public/test` request after this much silence.
    deribit_ping_seconds: float = Field(15.0, gt=0)
