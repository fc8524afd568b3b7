"""Settings of the Bitfinex collector (env `LIQMON_BITFINEX_*`; the URL is used as given)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class BitfinexSettings(CollectorSettings):
    #: The public WebSocket v2, used as is (no path appended). Bitfinex needs no REST here.
    bitfinex_ws_url: str = "wss://api-pub.bitfinex.com/ws/2"
    #: Liveness: `{"event":"ping"}` after this much silence (the channel's `hb` comes every
    #: ~15 s, so a healthy connection rarely needs one).
    bitfinex_ping_seconds: float = Field(20.0, gt=0)
