"""`chaos`: the demo market with every exchange misbehaviour switched on — malformed frames,
duplicates, OKX late/out-of-order events and stale replays after subscribing, and a
disconnect of every client every 45 s."""

from __future__ import annotations

from liqmon_sim.faults import Faults
from liqmon_sim.scenarios.base import Scenario, register
from liqmon_sim.scenarios.demo import demo


@register("chaos")
def chaos() -> Scenario:
    base = demo()
    return Scenario(
        "chaos",
        "demo plus malformed frames, duplicates, late OKX events, replays and disconnects",
        base.rate,
        sizes=base.sizes,
        drift=base.drift,
        faults=Faults(
            malformed_fraction=0.05,
            duplicate_fraction=0.05,
            okx_late_fraction=0.03,
            okx_out_of_order_fraction=0.1,
            okx_replay_on_subscribe=True,
            disconnect_every_s=45.0,
        ),
    )
