"""Settings of the OKX collector (env names are fixed; see README)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class OkxSettings(CollectorSettings):
    okx_ws_url: str = "wss://ws.okx.com:8443/ws/v5/public"
    okx_rest_url: str = "https://www.okx.com"
    #: OKX drops a connection with no traffic for 30 s: send text `ping` after this much quiet.
    okx_ping_seconds: float = Field(25.0, gt=0, lt=30)
