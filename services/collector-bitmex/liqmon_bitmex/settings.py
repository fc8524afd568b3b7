"""Settings of the BitMEX collector (env names are fixed; see docs/venues/bitmex.md)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class BitmexSettings(CollectorSettings):
    #: Used exactly as given (the subscription is a message, not part of the URL).
    bitmex_ws_url: str = "wss://ws.bitmex.com/realtime"
    #: The collector appends `/api/v1/instrument/active`.
    bitmex_rest_url: str = "https://www.bitmex.com"
    #: BitMEX sends nothing on a quiet table (`heartbeatEnabled: false`): a text `ping`
    #: after this much silence, answered by `pong`.
    bitmex_ping_seconds: float = Field(5.0, gt=0)
