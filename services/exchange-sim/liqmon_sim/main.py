"""`liqmon run exchange-sim`: the simulator as a service (what `liqmon up --demo` runs)."""

from __future__ import annotations

import asyncio
import logging

from liqmon.logs import configure_logging
from liqmon.runtime import run_service
from liqmon.settings import load_settings
from liqmon_sim.settings import SimSettings
from liqmon_sim.simulator import ExchangeSimulator

logger = logging.getLogger(__name__)


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
    return run_service(service)  # with the GC tuned (liqmon.runtime.tune_gc)
