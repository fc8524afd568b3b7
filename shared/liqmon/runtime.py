"""The service lifecycle: startup -> run -> shutdown, with signals and a bounded drain.

Every long-running liqmon service (except the web service, which uvicorn runs) implements
`Service` and is started with `run_service`. SIGINT/SIGTERM set the stop event; `run` is
expected to return soon after; if it does not within `shutdown_timeout` it is cancelled.
`shutdown` then releases resources. Background tasks are created through `TaskSet` so none
is fire-and-forget.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol, TypeVar

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Service(Protocol):
    name: str

    async def startup(self) -> None: ...

    async def run(self, stop: asyncio.Event) -> None: ...

    async def shutdown(self) -> None: ...


class TaskSet:
    """Tracks background tasks; a task that dies with an error is logged, not lost."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("task %s died", task.get_name(), exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def cancel_all(self, timeout: float = 5.0) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)


async def unless_stopped(
    work: Awaitable[T], stop: asyncio.Event, default: T, ignore: tuple[type[BaseException], ...]
) -> T:
    """`work`'s result, or `default` if `stop` is set first: the work is then cancelled and
    awaited, its `ignore` errors (and the cancellation) swallowed. For a blocking read that a
    shutdown must interrupt without losing anything (what it took stays pending)."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, *ignore):
        await task
    return default


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` is set meanwhile (a pause a shutdown cuts short)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def every(
    stop: asyncio.Event, seconds: float, job: Callable[[], Awaitable[object]], what: str
) -> None:
    """Run `job` now and then every `seconds` until `stop`. A failing run is logged and the
    next one still comes: periodic upkeep (heartbeats, eviction) must outlive one error."""
    while not stop.is_set():
        try:
            await job()
        except Exception as exc:
            logger.warning("%s failed: %s", what, exc)
        await wait_or_stop(stop, seconds)


async def serve(
    service: Service, *, shutdown_timeout: float = 10.0, stop: asyncio.Event | None = None
) -> None:
    """Run one service until a signal (or `stop`) asks it to end."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await service.startup()
    logger.info("%s started", service.name)
    runner = asyncio.create_task(service.run(stop), name=f"{service.name}.run")
    stopper = asyncio.create_task(stop.wait(), name=f"{service.name}.stop")
    try:
        await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            stop.set()
            runner.result()  # re-raise a crash of run()
        else:
            logger.info("%s stopping (bounded by %.0fs)", service.name, shutdown_timeout)
            done, _ = await asyncio.wait({runner}, timeout=shutdown_timeout)
            if not done:
                logger.warning("%s did not stop in time; cancelling", service.name)
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
            elif not runner.cancelled() and runner.exception():
                runner.result()
    finally:
        stopper.cancel()
        await service.shutdown()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        logger.info("%s stopped", service.name)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (every platform but Windows), else asyncio's.

    In py-spy profiles of the crash run the stdlib selector loop's wake-ups and transport
    writes were a visible share of the simulator's, collectors' and aggregator's CPU; uvloop
    is a drop-in (same asyncio API), and uvicorn already picks it for the web service."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return None
    return uvloop.new_event_loop


#: (gen0, gen1, gen2) thresholds of the cyclic GC; CPython's default is (700, 10, 10).
GC_THRESHOLDS = (20_000, 50, 100)


def tune_gc() -> None:
    """Full collections of the cyclic GC out of the way of a busy process.

    Each liquidation, stream or client leaves objects alive for a while (the simulator's
    ledger and re-send buffer, the aggregator's caches, the web's open streams), so the
    GC's older generations fill with survivors and CPython's default thresholds re-scan
    them all every few seconds, freeing almost nothing (the processes drop next to no
    cyclic garbage). Measured: in a crash run the simulator spent ~16 % of its CPU in the
    GC (docs/PERFORMANCE.md, the simulator's second pass), the aggregator ~3 %; with
    1,000 SSE clients the web's full collections, up to 130 ms each, were the whole p99
    of delivery latency (189 -> 96 ms with this). Start-up objects (modules, schemas,
    catalogs) are frozen out of the GC's reach, and the older generations are collected
    rarely; young objects are still collected every 20,000 allocations."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run_service(service: Service, *, shutdown_timeout: float = 10.0) -> int:
    """Blocking entry point for `liqmon run <service>` (the GC tuned: `tune_gc`)."""
    tune_gc()
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(serve(service, shutdown_timeout=shutdown_timeout))
    return 0
