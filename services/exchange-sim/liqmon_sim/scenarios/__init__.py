"""Scenario registry: importing this package registers every built-in scenario."""

from liqmon_sim.scenarios import cascade, chaos, crash, demo, steady
from liqmon_sim.scenarios.base import Scenario, get_scenario, register, scenario_names

__all__ = [
    "Scenario",
    "cascade",
    "chaos",
    "crash",
    "demo",
    "get_scenario",
    "register",
    "scenario_names",
    "steady",
]
