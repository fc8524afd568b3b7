"""The compose files as data (YAML anchors and merge keys resolved), for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DEMO_FILE = REPO / "compose.demo.yml"
#: The simulator's service name in compose.demo.yml, i.e. its host name on the network.
SIM_HOST = "exchange-sim"


def services(path: Path) -> dict[str, dict[str, Any]]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    result: dict[str, dict[str, Any]] = loaded["services"]
    return result


def collector_venues(path: Path = COMPOSE_FILE) -> list[str]:
    return sorted(
        name.removeprefix("collector-") for name in services(path) if name.startswith("collector-")
    )
