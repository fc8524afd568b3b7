"""Settings of the Gate collector (env names are fixed; see README)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from liqmon.collector.settings import CollectorSettings


class GateSettings(CollectorSettings):
    #: The collector appends `/usdt` (USDT-settled contracts).
    gate_ws_url: str = "wss://fx-ws.gateio.ws/v4/ws"
    #: Contracts (`/api/v4/futures/usdt/contracts`) and the liquidation history
    #: (`/api/v4/futures/usdt/liq_orders`) the side convention is checked against.
    gate_rest_url: str = "https://api.gateio.ws"
    #: `futures.ping` after this much quiet (aggr pings every 18 s).
    gate_ping_seconds: float = Field(15.0, gt=0)
    #: The side reading used until the REST history says otherwise (see liqmon_gate.side).
    gate_side_initial: Literal["order", "position"] = "order"
    #: How often pushed liquidations are looked up in the REST history.
    gate_side_check_seconds: float = Field(30.0, gt=0)
    #: A liquidation is looked up only once it is this old (the history may lag the push).
    gate_side_check_delay_seconds: float = Field(5.0, ge=0)
    #: Contracts looked up per check (one REST request each; Gate allows 200 requests/10 s).
    gate_side_contracts_per_check: int = Field(5, ge=1, le=50)
