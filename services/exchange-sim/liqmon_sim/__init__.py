"""Exchange simulator: loopback servers speaking Binance's, OKX's and Bybit's exact protocols.

In-process (tests, benchmarks)::

    from liqmon_sim import ExchangeSimulator, SimSettings

    async with ExchangeSimulator(SimSettings(sim_scenario="quiet")) as sim:
        env.update(sim.urls)  # the LIQMON_BINANCE_*/LIQMON_OKX_*/LIQMON_BYBIT_* URL variables
        run = await sim.control("run", n=1000, rate=500)  # a finite run
        await sim.wait_done(timeout=30)  # exactly 1000 unique liquidations written
        sim.ledger.totals.as_dict()  # count / cents by venue/side and by coin

As a service: `liqmon run exchange-sim` (LIQMON_SIM_* settings, see settings.py), with the
same ledger and control on every port over HTTP (api.py): GET /_sim/stats, /_sim/ledger,
/_sim/totals, /_sim/wait, /_sim/scenarios; POST /_sim/control?action=… (see control.py).

Layout: catalog (instruments and specs) -> market (liquidations, USD) -> frames/malformed
(wire shapes) -> venues/ (one plug-in per exchange, on base.py's connection loop and
sampling.py's or batching.py's delivery) <- driver (scenarios, runs, faults) ->
ledger (what went out); simulator ties them together; api (a Starlette app per port, reached
through http) serves REST and /_sim.
"""

from liqmon_sim.settings import SimSettings
from liqmon_sim.simulator import ExchangeSimulator

__all__ = ["ExchangeSimulator", "SimSettings"]
