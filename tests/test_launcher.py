"""`liqmon up --demo`: the whole system on an embedded Redis, answering, then gone on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from liqmon.embedded_redis import free_port
from liqmon.launcher import planned_services
from liqmon.venues import VENUES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]  # the whole system as processes


def _get_json(url: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            body: dict[str, object] = json.loads(resp.read())
            return body
    except OSError:
        return None


def test_up_demo_serves_health_and_leaves_no_process(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
    env.pop("REDIS_URL", None)
    env["LIQMON_WEB_PORT"] = str(port)
    with (tmp_path / "up.log").open("wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "liqmon", "up", "--demo"],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and health is None:
            health = _get_json(f"http://127.0.0.1:{port}/api/health")
            if health is None:
                time.sleep(0.25)  # polling an HTTP port: there is no event to wait on
        assert health is not None, (tmp_path / "up.log").read_text()[-3000:]
        while time.monotonic() < deadline and health["status"] != "ok":
            time.sleep(0.25)  # the collectors are connecting; health is what there is to poll
            health = _get_json(f"http://127.0.0.1:{port}/api/health") or health
        assert health["status"] == "ok", health["reasons"]
        assert (tmp_path / "var" / "redis" / "appendonly").is_dir()  # AOF under ./var
        family = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
        assert len(family) == 5  # redis, simulator, aggregator, web, ONE collectors process
        # every venue of the registry collected, all from that one process
        collectors = health["collectors"]
        assert set(collectors) == {v.exchange for v in VENUES}
        assert len({c["pid"] for c in collectors.values()}) == 1
        assert all(c["connected"] for c in collectors.values())
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(40)
    assert code == 0
    leftovers = [pid for pid in family if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]  # fmt: skip
    assert leftovers == []


def test_up_refuses_a_taken_web_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}
        env.pop("REDIS_URL", None)
        env["LIQMON_WEB_PORT"] = str(port)
        proc = subprocess.run(
            [sys.executable, "-m", "liqmon", "up"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert proc.returncode == 2
    assert f"127.0.0.1:{port} is not available" in proc.stderr
    assert "dashboard at" not in proc.stdout
    assert not (tmp_path / "var").exists()  # nothing started, not even Redis


def test_up_plans_grouped_or_per_venue_collectors_for_the_enabled_venues() -> None:
    assert planned_services(demo=True, per_venue=False, venues_text="") == (
        "exchange-sim", "aggregator", "web", "collectors",
    )  # fmt: skip
    assert planned_services(demo=False, per_venue=True, venues_text="okx, binance") == (
        "aggregator", "web", "collector-binance", "collector-okx",
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown venue"):
        planned_services(demo=False, per_venue=False, venues_text="okx,mtgox")
