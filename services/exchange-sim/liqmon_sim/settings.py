"""Settings of the exchange simulator (`liqmon up --demo` sets these)."""

from __future__ import annotations

from pydantic import Field

from liqmon.settings import CommonSettings


class SimSettings(CommonSettings):
    sim_host: str = "127.0.0.1"
    sim_binance_usdm_port: int = Field(9101, ge=0, le=65535)
    sim_binance_coinm_port: int = Field(9102, ge=0, le=65535)
    sim_okx_port: int = Field(9103, ge=0, le=65535)
    sim_scenario: str = "demo"
