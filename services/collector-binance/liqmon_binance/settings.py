"""Settings of the Binance collector (env names are fixed; see README)."""

from __future__ import annotations

from liqmon.settings import CommonSettings


class BinanceSettings(CommonSettings):
    binance_usdm_ws_url: str = "wss://fstream.binance.com/market"
    binance_usdm_rest_url: str = "https://fapi.binance.com"
    binance_coinm_ws_url: str = "wss://dstream.binance.com"
    binance_coinm_rest_url: str = "https://dapi.binance.com"
