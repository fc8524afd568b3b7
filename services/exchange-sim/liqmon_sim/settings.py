"""Settings of the exchange simulator: the one source of every simulator knob.

The service loads them from `LIQMON_SIM_*` (`liqmon up --demo` sets the host/port/scenario
ones); tests and benchmarks build them in-process, `SimSettings(sim_scenario="quiet", ...)`,
and hand them to `ExchangeSimulator`. Timers are in seconds so tests can shrink the real ones
(Binance: ping 3 min, pong 10 min, 24 h lifetime; OKX: 30 s idle) to fractions of a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from liqmon.settings import CommonSettings


class SimSettings(CommonSettings):
    sim_host: str = "127.0.0.1"
    sim_ports: dict[str, Annotated[int, Field(ge=0, le=65535)]] = Field(
        default_factory=dict,
        description='JSON: server name -> port, e.g. {"okx": 9103}; a server not named '
        "listens on its plug-in's default port (liqmon_sim.venues.plugin) in the service, "
        "on a free port in-process (see with_default_ports)",
    )
    sim_scenario: str = "demo"
    sim_seed: int = 1
    sim_rate_multiplier: float = Field(1.0, ge=0)
    sim_total: int | None = Field(None, ge=1, description="finite run: exactly N liquidations")
    sim_rate: float | None = Field(
        None, ge=0, description="override the scenario's rate (/s; inf = as fast as possible)"
    )
    sim_faults: dict[str, Any] = Field(
        default_factory=dict,
        description='JSON overrides of the fault knobs, e.g. {"malformed_fraction":0.1}',
    )
    sim_binance_sampling_ms: int | None = Field(
        None, ge=0, description="unset: the scenario's (1000 unless `max`)"
    )
    sim_binance_ping_interval_s: float = Field(180.0, gt=0)
    sim_binance_pong_timeout_s: float = Field(600.0, gt=0)
    sim_binance_max_connection_s: float = Field(86_400.0, gt=0)
    sim_okx_idle_timeout_s: float = Field(30.0, gt=0)
    sim_okx_idle_rule: Literal["any", "client"] = "any"
    sim_okx_notice_delay_s: float = Field(30.0, ge=0)
    sim_okx_batch_ms: int = Field(50, ge=0)
    sim_binance_max_msgs_per_s: int = Field(10, ge=0, description="0 = no limit")
    sim_binance_legacy_root: bool = Field(
        True, description="USDⓈ-M /ws, /stream: accept, never push"
    )
    sim_bybit_batch_ms: int = Field(500, ge=0, description="push period per topic")
    sim_bybit_idle_timeout_s: float = Field(600.0, gt=0)
    sim_htx_ping_interval_s: float = Field(5.0, gt=0, description="HTX pings every 5 s")
    sim_gate_sampling_ms: int = Field(1000, ge=0, description="one per contract per period")
    sim_gate_side_convention: Literal["order", "position"] = Field(
        "order", description="what the sign of Gate's pushed size means (see venues/gate.py)"
    )
    sim_ledger_path: Path | None = None
    sim_ledger_max_entries: int = Field(
        200_000, ge=1, description="ledger entries kept in memory; totals are always exact"
    )
    sim_control_enabled: bool = True

    def with_default_ports(self) -> SimSettings:
        """These settings with every server `sim_ports` does not name on its plug-in's
        default port: the service's reading (compose points the collectors at those ports);
        an in-process simulator leaves them out, so they listen on free ports."""
        from liqmon_sim.venues.plugin import default_ports

        return self.model_copy(update={"sim_ports": {**default_ports(), **self.sim_ports}})
