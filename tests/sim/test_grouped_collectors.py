"""Several venues' collectors in one process (`liqmon.collector.group`).

A grouped process must deliver exactly what separate processes deliver (each venue keeps
its own connections, status and buffers), and one venue crashing or stalling inside it must
never stop the others: the crashed venue restarts alone, with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from liqmon.collector.group import CollectorGroup, SharedAppenders, VenueSupervisor
from liqmon.collector.service import CollectorService
from liqmon.keys import Keys
from liqmon.runtime import serve
from liqmon.venues import BY_EXCHANGE
from liqmon_sim.venues.plugin import by_venue
from tests.collectors.servers import status_is
from tests.procs import ServiceProcess
from tests.sim.conftest import until, until_async
from tests.sim.test_through_collectors import assert_stream_matches

GROUP = ("binance", "okx", "bybit")


def sim_venues_of(exchanges: tuple[str, ...]) -> list[str]:
    return [v for ex in exchanges for v in by_venue() if by_venue()[v].exchange == ex]


async def subscribed(sim: Any, exchanges: tuple[str, ...], alive: Any = None) -> None:
    """Every listed instrument of every simulator venue of these exchanges reaches a live
    subscriber (a half-subscribed venue would miss the load that follows)."""
    venues = sim_venues_of(exchanges)

    def ready() -> bool:
        if alive is not None:
            alive()
        return all(sim.venues[v].ready_for(v) for v in venues)

    await until(ready, timeout=30)


@pytest.mark.slow
@pytest.mark.timeout(60)  # collectors against the simulator
async def test_one_process_collects_three_venues_exactly_like_three(
    make_sim: Any, redis: Redis, keys: Keys, service_env: dict[str, str], tmp_path: Path
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0)  # silent until the run below
    env = dict(service_env, **sim.urls)
    # `liqmon run collector-binance collector-okx collector-bybit`: one process
    proc = ServiceProcess(
        "collector-binance", env, tmp_path, more=("collector-okx", "collector-bybit")
    ).start()

    def alive() -> None:
        assert proc.alive(), proc.log()

    async def stop() -> None:
        code = await asyncio.to_thread(proc.stop)
        assert code == 0, proc.log()

    try:
        await subscribed(sim, GROUP, alive)
        await sim.control("run", n=500, rate=500)
        await sim.wait_done(timeout=40)
        # each venue publishes its own status, as when alone, all from the one process
        statuses = [
            await status_is(redis, keys.collector_status(ex), connected="1") for ex in GROUP
        ]
        assert {s["pid"] for s in statuses} == {str(proc.pid)}
        await assert_stream_matches(redis, keys, sim.ledger.totals, stop)
    finally:
        await stop()


def _settings_for(exchange: str, redis_url: str, urls: dict[str, str]) -> Any:
    cls = BY_EXCHANGE[exchange].load_main().SETTINGS
    fields = {k.removeprefix("LIQMON_").lower(): v for k, v in urls.items()}
    return cls(
        redis_url=redis_url,
        collector_status_seconds=0.2,
        **{k: v for k, v in fields.items() if k in cls.model_fields},
    )


class CrashAfterFirstEvents(CollectorService):
    """A venue with a bug: once it has written its first events, its run() raises."""

    async def run(self, stop: asyncio.Event) -> None:
        own_stop = asyncio.Event()
        runner = asyncio.create_task(super().run(own_stop))
        with contextlib.suppress(TimeoutError):
            await until(lambda: self.writer.written > 0 or stop.is_set(), timeout=30)
        own_stop.set()
        await runner
        if not stop.is_set():
            raise RuntimeError("injected venue crash")


@contextlib.asynccontextmanager
async def group_running(group: CollectorGroup) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """The group serving; yields `stop()`, which returns once it has flushed and ended."""
    stop_event = asyncio.Event()
    task = asyncio.create_task(serve(group, stop=stop_event, shutdown_timeout=15))

    async def stop() -> None:
        stop_event.set()
        await asyncio.wait_for(asyncio.shield(task), 30)

    try:
        yield stop
    finally:
        await stop()


@pytest.mark.slow
@pytest.mark.timeout(60)  # collectors against the simulator
async def test_a_crashing_venue_restarts_alone_while_the_others_keep_delivering(
    make_sim: Any, redis: Redis, keys: Keys, redis_url: str
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0, sim_binance_sampling_ms=0)
    builds: list[str] = []

    def supervisor(exchange: str, crash_first: bool) -> VenueSupervisor:
        settings = _settings_for(exchange, redis_url, sim.urls)
        venue_cls = BY_EXCHANGE[exchange].load_main().VENUE

        def build() -> CollectorService:
            builds.append(exchange)
            first = builds.count(exchange) == 1
            cls = CrashAfterFirstEvents if crash_first and first else CollectorService
            return cls(venue_cls(settings), settings, appenders.for_settings(settings))

        return VenueSupervisor(exchange, build, shutdown_timeout=10)

    appenders = SharedAppenders()  # as `liqmon run collectors`: one appender, group commit
    okx = supervisor("okx", crash_first=True)
    binance = supervisor("binance", crash_first=False)
    async with group_running(CollectorGroup([binance, okx], appenders)) as stop:
        await subscribed(sim, ("binance", "okx"))
        await sim.control("run", n=300, rate=150)
        # okx crashes after its first events; binance must go on meanwhile
        await until(lambda: okx.restarts == 1, timeout=30)
        binance_before = binance.running.writer.written if binance.running else 0
        await until(
            lambda: bool(binance.running and binance.running.writer.written > binance_before)
        )
        await sim.wait_done(timeout=60)
        await subscribed(sim, ("okx",))
        # what the ledger lists was sent to a live subscriber: all of it arrives
        await assert_stream_matches(redis, keys, sim.ledger.totals, stop)
    assert binance.restarts == 0 and okx.restarts == 1
    assert builds.count("okx") == 2 and builds.count("binance") == 1
    assert "injected venue crash" in okx.last_error


@pytest.mark.slow
@pytest.mark.timeout(60)  # collectors against the simulator
async def test_a_stalled_venue_does_not_stall_the_others(
    make_sim: Any, redis: Redis, keys: Keys, redis_url: str
) -> None:
    sim = await make_sim(sim_scenario="demo", sim_rate=0, sim_binance_sampling_ms=0)
    settings = {ex: _settings_for(ex, redis_url, sim.urls) for ex in ("binance", "okx")}
    appenders = SharedAppenders()
    group = CollectorGroup(
        [
            VenueSupervisor(
                ex,
                lambda ex=ex: CollectorService(
                    BY_EXCHANGE[ex].load_main().VENUE(settings[ex]),
                    settings[ex],
                    appenders.for_settings(settings[ex]),
                ),
                shutdown_timeout=10,
            )
            for ex in ("binance", "okx")
        ],
        appenders,
    )
    async with group_running(group):
        await subscribed(sim, ("binance", "okx"))
        await sim.control("stall", venue="okx")  # frozen exchange: no data, no pongs
        run = await sim.control("burst", n=200, rate=400, venue="binance-usdm")
        await sim.wait_done(timeout=40, run=run["run"])

        async def binance_all_there() -> bool:
            got = [f for _, f in await redis.xrange(keys.events) if f["exchange"] == "binance"]
            return len(got) == 200

        await until_async(binance_all_there, timeout=30)
        await sim.control("resume", venue="okx")
