"""Scenario registry: importing this package registers every built-in scenario."""

from liqmon_sim.scenarios import cascade, chaos, demo, steady
from liqmon_sim.scenarios.base import Scenario, get_scenario, register, scenario_names

__all__ = [
    "Scenario",
    "cascade",
    "chaos",
    "demo",
    "get_scenario",
    "register",
    "scenario_names",
    "steady",
]
