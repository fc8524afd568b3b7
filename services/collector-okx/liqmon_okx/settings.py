"""Settings of the OKX collector (env names are fixed; see README)."""

from __future__ import annotations

from liqmon.settings import CommonSettings


class OkxSettings(CommonSettings):
    okx_ws_url: str = "wss://ws.okx.com:8443/ws/v5/public"
    okx_rest_url: str = "https://www.okx.com"
