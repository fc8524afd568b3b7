"""Settings of the HTX collector (env names are fixed; see README)."""

from __future__ import annotations

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class HtxSettings(CollectorSettings):
    #: The collector appends `/linear-swap-notification` and `/swap-notification`.
    htx_ws_url: str = "wss://api.hbdm.com"
    #: Contract sizes: `/linear-swap-api/v1/swap_contract_info` and `/swap-api/v1/…`.
    htx_rest_url: str = "https://api.hbdm.com"
    #: HTX pings every 5 s: this much silence (two missed pings) gets a protocol ping, and a
    #: connection that does not answer it within the pong timeout is dropped.
    htx_quiet_seconds: float = Field(10.0, gt=0)
