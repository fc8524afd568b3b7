"""`liqmon run exchange-sim`: the simulator as a service (what `liqmon up --demo` runs)."""

from __future__ import annotations

import asyncio
import gc
import logging

from liqmon.logs import configure_logging
from liqmon.runtime import run_service
from liqmon.settings import load_settings
from liqmon_sim.settings import SimSettings
from liqmon_sim.simulator import ExchangeSimulator

logger = logging.getLogger(__name__)

#: (gen0, gen1, gen2) thresholds; CPython's default is (700, 10, 10).
GC_THRESHOLDS = (20_000, 50, 100)


def tune_gc() -> None:
    """Full collections out of the way of a crash-day stream of liquidations.

    Every emitted liquidation leaves objects alive for a while (ledger entry, the
    re-send buffer's entry, the connection's queued frame), so the collector's generations
    fill with survivors and CPython's default thresholds ran a full collection every few
    seconds over all of them: measured in a crash run (bench/sim_crash.py, gc callbacks),
    young collections took 0.55 s and the older two 0.81 s of the simulator's 8.5 CPU
    seconds. Start-up objects (catalog, modules) are frozen out of the collector's reach
    and the older generations are collected rarely. Almost nothing the simulator drops is
    cyclic (~900 objects collected in that run), and what is gets collected young.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class SimService:
    name = "exchange-sim"

    def __init__(self, settings: SimSettings) -> None:
        self.sim = ExchangeSimulator(settings)

    async def startup(self) -> None:
        await self.sim.start()
        for env, url in self.sim.urls.items():
            logger.info("%s=%s", env, url)

    async def run(self, stop: asyncio.Event) -> None:
        await stop.wait()

    async def shutdown(self) -> None:
        await self.sim.stop()


def main(argv: list[str]) -> int:
    settings = load_settings(SimSettings)
    configure_logging("exchange-sim", settings.log_level)
    if argv:
        logger.warning("ignoring arguments %s (configure with LIQMON_SIM_* variables)", argv)
    try:  # unknown scenario or bad fault knobs: say so before binding any port
        service = SimService(settings.with_default_ports())
    except ValueError as exc:
        logger.error("invalid simulator configuration: %s", exc)
        return 2
    tune_gc()
    return run_service(service)
