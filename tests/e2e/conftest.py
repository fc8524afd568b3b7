"""The whole system as real processes, for fault injection: `stack` builds one per test.

Every service is `liqmon run <svc>` (tests.procs.ServiceProcess) against a Redis this test
controls; the exchange simulator is a process too, so the test drives it only over HTTP
(`/_sim/control`, `/_sim/wait`, `/_sim/ledger`) exactly as an operator would. Timers the
faults depend on (aggregator claim/lease, collector backoff) are shrunk so a test sees a
crash and its recovery within seconds; nothing else is changed from the defaults.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from liqmon.embedded_redis import EmbeddedRedis, free_port
from liqmon.keys import Keys
from liqmon_aggregator.testing import backlog
from liqmon_sim.venues.plugin import demo_environment, free_ports
from tests import polling
from tests.procs import ServiceProcess

COLLECTORS = ("collector-binance", "collector-okx")
SIM_VENUES = ("binance-usdm", "binance-coinm", "okx")

#: Shrunk timers: a SIGKILLed aggregator's lease expires and its pending entries are claimed
#: within ~2 s; a collector retries Redis/the exchange quickly.
FAST_ENV = {
    "LIQMON_AGGREGATOR_CLAIM_IDLE_MS": "1500",
    "LIQMON_AGGREGATOR_JANITOR_MS": "500",
    "LIQMON_AGGREGATOR_LEASE_MS": "2000",
    "LIQMON_AGGREGATOR_SELFCHECK_MS": "1000",
    "LIQMON_COLLECTOR_BACKOFF_INITIAL_SECONDS": "0.1",
    "LIQMON_COLLECTOR_BACKOFF_MAX_SECONDS": "1.0",
    "LIQMON_COLLECTOR_STATUS_SECONDS": "0.5",
    "LIQMON_WEB_SUMMARY_CACHE_MS": "0",
    "LIQMON_SIM_SCENARIO": "quiet",
    "LIQMON_SIM_BINANCE_SAMPLING_MS": "0",
}


async def poll(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, every: float = 0.1
) -> None:
    """`tests.polling.poll` at a gentler pace: each check here asks a whole stack."""
    await polling.poll(check, timeout, what, every)


class Stack:
    """Simulator + collectors + aggregators + webs, each a child process."""

    def __init__(self, redis_url: str, log_dir: Path, env: dict[str, str]) -> None:
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.ports = free_ports()
        self.sim_url = f"http://127.0.0.1:{self.ports['okx']}"
        self.env = {**env, **FAST_ENV, "REDIS_URL": redis_url}
        self.env.update(demo_environment("127.0.0.1", self.ports))
        self.procs: dict[str, ServiceProcess] = {}
        self.web_urls: dict[str, str] = {}
        self.http = httpx.AsyncClient(timeout=60)
        self.keys = Keys("liq")

    # --- processes ------------------------------------------------------------------
    def start(self, name: str, label: str | None = None, **env: str) -> ServiceProcess:
        """Start `liqmon run <name>` as `label` (default: the name); web gets a free port."""
        label = label or name
        child_env = {**self.env, **env}
        if name == "web":
            port = free_port()
            child_env["LIQMON_WEB_PORT"] = str(port)
            self.web_urls[label] = f"http://127.0.0.1:{port}"
        proc = ServiceProcess(name, child_env, self.log_dir).start()
        self.procs[label] = proc
        return proc

    def kill(self, label: str) -> None:
        self.procs[label].kill()

    def restart(self, label: str, name: str | None = None, **env: str) -> ServiceProcess:
        self.procs[label].kill()
        return self.start(name or label.split("#")[0], label, **env)

    def logs(self) -> str:
        return "\n".join(f"--- {k}\n{p.log()[-3000:]}" for k, p in self.procs.items())

    async def stop_all(self) -> None:
        for label in sorted(self.procs, key=lambda k: k == "exchange-sim"):
            proc = self.procs[label]
            if proc.alive():
                await asyncio.to_thread(proc.stop, 10.0)
        await self.http.aclose()

    # --- the simulator, over HTTP ---------------------------------------------------
    async def sim_get(self, path: str, **params: Any) -> Any:
        resp = await self.http.get(f"{self.sim_url}{path}", params=params)
        assert resp.status_code == 200, (path, resp.status_code, resp.text)
        return resp.json()

    async def control(self, action: str, **params: Any) -> dict[str, Any]:
        resp = await self.http.post(
            f"{self.sim_url}/_sim/control", params={"action": action, **params}
        )
        assert resp.status_code == 200, (action, resp.status_code, resp.text)
        result: dict[str, Any] = resp.json()
        return result

    async def start_sim(self, **env: str) -> None:
        self.start("exchange-sim", **env)

        async def answers() -> bool:
            assert self.procs["exchange-sim"].alive(), self.procs["exchange-sim"].log()
            try:
                await self.http.get(f"{self.sim_url}/_sim/stats")
            except httpx.TransportError:
                return False
            return True

        await poll(answers, 20, "the simulator to answer")

    async def wait_subscribed(self, venues: tuple[str, ...] = SIM_VENUES) -> None:
        """Until every instrument of every venue reaches a live subscribed client (the
        simulator's `ready`): load started earlier would miss whoever is still subscribing."""

        async def ready() -> bool:
            for label, proc in self.procs.items():
                assert proc.alive(), f"{label} died:\n{proc.log()[-3000:]}"
            stats = await self.sim_get("/_sim/stats")
            return all(stats["venues"][v]["ready"][v] for v in venues)

        await poll(ready, 30, f"collectors subscribed on {venues}", every=0.1)

    async def venue_stats(self) -> dict[str, dict[str, Any]]:
        venues: dict[str, dict[str, Any]] = (await self.sim_get("/_sim/stats"))["venues"]
        return venues

    async def wait_stat(self, venue: str, stat: str, at_least: int, timeout: float = 30) -> None:
        """Until the simulator's counter `stat` of `venue` reaches `at_least`."""

        async def reached() -> bool:
            return int((await self.venue_stats())[venue].get(stat, 0)) >= at_least

        await poll(reached, timeout, f"{venue} {stat} >= {at_least}")

    async def wait_run(self, run: int, timeout: float = 60) -> dict[str, Any]:
        """Until the run is done: the simulator's long-poll holds a request a few seconds
        at most (408 = not yet), so ask again until `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            left = max(0.1, deadline - time.monotonic())
            resp = await self.http.get(
                f"{self.sim_url}/_sim/wait", params={"run": run, "timeout": left}
            )
            if resp.status_code != 408 or time.monotonic() >= deadline:
                break
        assert resp.status_code == 200, (resp.status_code, resp.text[:2000])
        result: dict[str, Any] = resp.json()
        return result

    async def ledger_entries(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        since = 0
        while True:
            page = await self.sim_get("/_sim/ledger", since=since, limit=20_000)
            out += page["entries"]
            if not page["entries"]:
                return out
            since = page["next"]

    # --- the pipeline ---------------------------------------------------------------
    async def wait_drained(self, redis: Redis, expected_unique: int, timeout: float = 60) -> None:
        """Until the stream holds `expected_unique` distinct ids (or more) and the
        aggregators have applied and acked every entry."""
        keys = self.keys

        async def done() -> bool:
            for label, proc in self.procs.items():
                assert proc.alive(), f"{label} died:\n{proc.log()[-3000:]}"
            applied = int(await redis.hget(keys.agg_stats(1), "applied") or 0)
            if applied < expected_unique:
                return False
            return await backlog(redis, keys) == (0, 0)

        await poll(done, timeout, f"{expected_unique} events applied and acked", every=0.25)


StackFactory = Callable[..., Awaitable[Stack]]


@pytest.fixture
async def make_stack(tmp_path: Path) -> AsyncIterator[StackFactory]:
    """`await make_stack(redis_url)` -> a Stack (stopped at teardown, logs in tmp_path)."""
    stacks: list[Stack] = []
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIQMON_")}

    async def make(redis_url: str) -> Stack:
        stack = Stack(redis_url, tmp_path, base)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        await stack.stop_all()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Callable[..., EmbeddedRedis]]:
    """A persistent (AOF) Redis this test may stop, SIGKILL and restart on the same port."""
    servers: list[EmbeddedRedis] = []

    def make(appendfsync: str = "everysec") -> EmbeddedRedis:
        server = EmbeddedRedis(tmp_path / f"redis-{len(servers)}", appendfsync=appendfsync)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
