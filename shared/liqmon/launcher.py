"""`liqmon up`: the whole system as supervised child processes.

- Without `REDIS_URL` it starts a private real Redis (see `embedded_redis`) with AOF under
  `./var/redis`; with `REDIS_URL` it starts none.
- `--demo` also starts the exchange simulator on free loopback ports and points the
  collectors at it, so the whole pipeline runs with no internet.
- Each child is `python -m liqmon run <service>` in its own session (so a terminal Ctrl-C
  reaches only this supervisor, which then stops children in a safe order) and with
  PR_SET_PDEATHSIG, so that even a SIGKILL of the supervisor leaves no orphans.
- Collectors: the venues of `LIQMON_VENUES` (default every venue of `liqmon.venues`) run in
  ONE `collectors` process (`liqmon.collector.group`: each venue supervised on its own), or
  one process per venue with `--collector-per-venue`.
- A child that dies is restarted with capped exponential backoff (reset after it has run
  for a minute). Stop order: collectors first (they flush their buffers), then the
  aggregator (it acks its in-flight batch), web, simulator, and Redis last.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from liqmon.backoff import Backoff
from liqmon.embedded_redis import EmbeddedRedis, die_with_parent
from liqmon.runtime import wait_or_stop
from liqmon.venues import VENUES, parse_venue_list

logger = logging.getLogger("liqmon.up")

COLLECTORS = ("collectors", *(v.service for v in VENUES))
START_ORDER = ("exchange-sim", "aggregator", "web", *COLLECTORS, "alerter")
STOP_ORDER = (*COLLECTORS, "aggregator", "alerter", "web", "exchange-sim")
STOP_TIMEOUT = 15.0


@dataclass
class Child:
    name: str
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None
    started_at: float = 0.0
    restarts: int = 0
    stopping: bool = False
    history: list[int] = field(default_factory=list)

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "liqmon", "run", self.name,
            env=self.env, start_new_session=True, preexec_fn=die_with_parent,
        )  # fmt: skip
        self.started_at = time.monotonic()
        logger.info("started %s (pid %d)", self.name, self.process.pid)

    async def stop(self) -> None:
        self.stopping = True
        proc = self.process
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            logger.warning("%s did not stop in %.0fs; killing", self.name, STOP_TIMEOUT)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


def demo_environment(host: str = "127.0.0.1") -> dict[str, str]:
    """Ports for every simulator server (free ones, or those `LIQMON_SIM_PORTS` names) and
    the collector URLs that point at them."""
    # the simulator is the one service the launcher must know to wire the demo together
    from liqmon_sim.settings import SimSettings
    from liqmon_sim.venues.plugin import demo_environment as sim_environment
    from liqmon_sim.venues.plugin import free_ports

    ports = free_ports()
    # the ports the environment names, parsed as the simulator parses them (validating `{}`
    # reads the environment like `SimSettings()`); a bad value: the simulator says so
    with contextlib.suppress(ValidationError):
        ports.update(SimSettings.model_validate({}).sim_ports)
    return {
        **sim_environment(host, ports),
        "LIQMON_SIM_SCENARIO": os.environ.get("LIQMON_SIM_SCENARIO", "demo"),
    }


async def _supervise(child: Child, stop: asyncio.Event) -> None:
    pacing = Backoff(initial=0.5, maximum=30.0)
    while not stop.is_set():
        await child.start()
        assert child.process is not None
        code = await child.process.wait()
        if stop.is_set() or child.stopping:
            return
        ran = time.monotonic() - child.started_at
        if ran > 60:
            pacing.reset()
        delay = pacing.next()
        child.restarts += 1
        logger.error(
            "%s exited with %s after %.1fs; restart #%d in %.1fs",
            child.name,
            code,
            ran,
            child.restarts,
            delay,
        )
        await wait_or_stop(stop, delay)


def port_taken(host: str, port: str) -> str | None:
    """Why the web service could not listen on host:port, or None when it can."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, int(port)))
    except (OSError, ValueError) as exc:
        return str(exc)
    return None


def planned_services(demo: bool, per_venue: bool, venues_text: str) -> tuple[str, ...]:
    """What `liqmon up` runs: the simulator (demo), aggregator, web, and the enabled venues'
    collectors (`LIQMON_VENUES`, default every venue), grouped in one `collectors` process
    unless `per_venue`. Raises ValueError naming an unknown venue."""
    venues = parse_venue_list(venues_text)
    collectors = [v.service for v in venues] if per_venue else ["collectors"]
    wanted = {"aggregator", "web", *collectors, *(["exchange-sim"] if demo else [])}
    if os.environ.get("LIQMON_ALERTS_FILE"):
        wanted.add("alerter")  # alerts only when a rules file is configured
    return tuple(name for name in START_ORDER if name in wanted)


async def up(demo: bool, var_dir: Path, per_venue: bool = False) -> int:
    try:
        venues = parse_venue_list(os.environ.get("LIQMON_VENUES", ""))
        services = planned_services(demo, per_venue, os.environ.get("LIQMON_VENUES", ""))
    except ValueError as exc:
        sys.stderr.write(f"liqmon: LIQMON_VENUES: {exc}\n")
        return 2
    host = os.environ.get("LIQMON_WEB_HOST", "127.0.0.1")
    port = os.environ.get("LIQMON_WEB_PORT", "8000")
    if "web" in services and (problem := port_taken(host, port)):
        # Fail loudly now rather than print a URL that belongs to someone else and then
        # restart the web service forever.
        logger.error("cannot serve the dashboard on %s:%s: %s", host, port, problem)
        sys.stderr.write(
            f"liqmon: {host}:{port} is not available ({problem}); "
            "set LIQMON_WEB_PORT to a free port\n"
        )
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    env = dict(os.environ)
    redis: EmbeddedRedis | None = None
    if not env.get("REDIS_URL"):
        redis = EmbeddedRedis(var_dir / "redis")
        await asyncio.to_thread(redis.start)
        env["REDIS_URL"] = redis.url
        logger.info("embedded redis on %s (AOF in %s)", redis.url, var_dir / "redis")
    if demo:
        env.update(demo_environment())
    # the web's health expects exactly the venues collected here (unless set explicitly)
    env.setdefault("LIQMON_WEB_EXPECTED_COLLECTORS", ",".join(v.exchange for v in venues))
    env["LIQMON_COLLECTORS"] = ",".join(v.exchange for v in venues)
    children = {name: Child(name, env) for name in services}
    tasks = [asyncio.create_task(_supervise(c, stop), name=c.name) for c in children.values()]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    sys.stdout.write(
        f"\n  liqmon is up: dashboard at http://{shown}:{port}/"
        f"{'  (demo: simulated exchanges)' if demo else ''}\n"
        "  press Ctrl-C to stop\n\n"
    )
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        logger.info("stopping all services")
        for name in STOP_ORDER:
            if name in children:
                await children[name].stop()
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if redis is not None:
            await asyncio.to_thread(redis.stop)
        logger.info("all stopped")
    return 0
