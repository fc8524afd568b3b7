"""The compose files, read as data (no Docker needed): one collector per venue, the demo
override pointing every collector at the simulator, Redis never published."""

from __future__ import annotations

from liqmon.venues import VENUES
from liqmon_sim.venues.plugin import collector_env, default_ports
from tests.compose.compose_files import (
    COMPOSE_FILE,
    DEMO_FILE,
    SIM_HOST,
    collector_venues,
    services,
)


def registry_venues() -> list[str]:
    return sorted(v.exchange for v in VENUES)


def test_exactly_one_collector_service_per_venue() -> None:
    # a new venue is three lines in docker-compose.yml:
    #   collector-<exchange>:
    #     <<: *collector
    #     command: ["liqmon", "run", "collector-<exchange>"]
    assert collector_venues() == registry_venues()
    for venue in registry_venues():
        service = services(COMPOSE_FILE)[f"collector-{venue}"]
        assert service["command"] == ["liqmon", "run", f"collector-{venue}"]
        assert "egress" in service["networks"]


def test_one_image_built_once_for_every_liqmon_service() -> None:
    liqmon = {n: s for n, s in services(COMPOSE_FILE).items() if n != "redis"}
    assert [n for n, s in liqmon.items() if "build" in s] == ["aggregator"]
    assert {s["image"] for s in liqmon.values()} == {"${LIQMON_IMAGE:-liqmon:local}"}
    for name, service in liqmon.items():
        assert service["command"][:2] == ["liqmon", "run"], name
        assert service["depends_on"]["redis"] == {"condition": "service_healthy"}, name


def test_redis_is_never_published_and_the_web_only_on_loopback() -> None:
    every = services(COMPOSE_FILE)
    published = {n: s["ports"] for n, s in every.items() if "ports" in s}
    assert published == {
        "web": ["${LIQMON_WEB_PUBLISH_ADDR:-127.0.0.1}:${LIQMON_WEB_PUBLISH_PORT:-8000}:8000"]
    }
    assert every["redis"]["networks"] == ["backend"]
    assert "--appendonly yes" in every["redis"]["command"]


def test_the_alerter_runs_only_under_its_profile() -> None:
    assert services(COMPOSE_FILE)["alerter"]["profiles"] == ["alerts"]


def test_demo_points_every_collector_at_the_simulator() -> None:
    demo = services(DEMO_FILE)
    # a new venue is one line there (`collector-<exchange>: *simulated-venues`) plus its
    # URL variables in the `x-simulated-venues` block, exactly these:
    expected = collector_env(SIM_HOST, default_ports())
    assert collector_venues(DEMO_FILE) == registry_venues()
    for venue in registry_venues():
        override = demo[f"collector-{venue}"]
        assert override["environment"] == expected, venue
        assert override["depends_on"][SIM_HOST] == {"condition": "service_healthy"}
    assert demo[SIM_HOST]["environment"]["LIQMON_SIM_HOST"] == "0.0.0.0"
