"""Settings of the Binance collector (env names are fixed; see README)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class BinanceSettings(CollectorSettings):
    binance_usdm_ws_url: str = "wss://fstream.binance.com/market"
    binance_usdm_rest_url: str = "https://fapi.binance.com"
    binance_coinm_ws_url: str = "wss://dstream.binance.com"
    binance_coinm_rest_url: str = "https://dapi.binance.com"
    #: Binance closes every connection after 24 h; the collector rolls over before that.
    binance_max_conn_seconds: float = Field(86_400.0, gt=0)
    #: Quiet time after which the collector sends its own protocol ping.
    binance_ping_seconds: float = Field(30.0, gt=0)
