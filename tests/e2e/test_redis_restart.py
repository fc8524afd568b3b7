"""Redis stopped and restarted (same port, same AOF) in the middle of a cascade.

- Clean stop (SIGTERM = SHUTDOWN, AOF flushed): nothing is lost. The collectors keep their
  exchange sockets and buffer; the aggregator reconnects and finishes its pending entries;
  the web says `down` meanwhile and recovers. Ledger == stream == 1d window, exactly.
- SIGKILL: what is lost is bounded by the fsync policy. The test measures `missing`
  (ledger - stream) and prints it for docs/RELIABILITY.md; with `appendfsync always` it must
  be 0 (Redis replies only after the fsync, and a collector retries any unanswered batch).
  Whatever survived is self-consistent: the AOF replays a prefix of the command log, and the
  dedup, the increments and the XACK are one script, so 1d == the surviving stream exactly.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import httpx
import pytest

from liqmon.embedded_redis import EmbeddedRedis
from liqmon.redis_client import create_redis
from tests.e2e.conftest import Stack, StackFactory, poll
from tests.e2e.exact import assert_views_equal, assert_window_equals, ledger_tally, stream_view

pytestmark = pytest.mark.slow

N, RATE = 20_000, 4000


async def health_is(stack: Stack, *wanted: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            resp = await client.get(f"{stack.web_urls['web']}/api/health")
    except httpx.TransportError:
        return False
    return resp.json()["status"] in wanted


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("how", "fsync"),
    [("shutdown", "everysec"), ("sigkill", "everysec"), ("sigkill", "always")],
)
async def test_redis_restart_mid_cascade(
    how: str,
    fsync: str,
    make_stack: StackFactory,
    own_redis: Callable[..., EmbeddedRedis],
) -> None:
    server = own_redis(fsync)
    stack = await make_stack(server.url)
    redis = create_redis(server.url)
    try:
        await stack.start_sim()
        for name in ("aggregator", "web", "collector-binance", "collector-okx"):
            stack.start(name)
        await stack.wait_subscribed()
        run = (await stack.control("run", n=N, rate=RATE))["run"]

        async def emitted(n: int) -> bool:
            return int((await stack.sim_get("/_sim/totals"))["count"]) >= n

        await poll(lambda: emitted(4_000), 60, "4,000 emitted")  # a fifth: room for delays
        assert server.process is not None
        if how == "shutdown":
            server.process.send_signal(signal.SIGTERM)  # SHUTDOWN: AOF written and fsynced
        else:
            server.process.kill()
        await asyncio.to_thread(server.process.wait)
        down_at = int((await stack.sim_get("/_sim/totals"))["count"])
        if how == "shutdown":
            await poll(lambda: health_is(stack, "down"), 15, "health to say down")
        await asyncio.sleep(1.5)
        await asyncio.to_thread(server.start)  # same port, same appendonly dir
        await stack.wait_run(run, timeout=90)
        want = ledger_tally(await stack.ledger_entries())
        assert want.count == N
        assert down_at < N, "Redis went away mid-run"

        async def stream_settled() -> bool:
            before = await redis.xlen(stack.keys.events)
            await asyncio.sleep(1.0)
            return await redis.xlen(stack.keys.events) == before

        await poll(stream_settled, 30, "the stream to settle")
        got = await stream_view(redis, stack.keys)
        missing = sum((want.keys - got.tally.keys).values())
        assert not got.tally.keys - want.keys, "nothing the exchange did not send"
        if how == "shutdown" or fsync == "always":
            assert missing == 0, f"{missing} acknowledged events lost"
        else:  # everysec: at most ~2 s of writes (Redis postpones a slow fsync by up to 2 s)
            assert missing <= 2 * RATE
        await stack.wait_drained(redis, len(got.ids), timeout=60)
        await assert_views_equal(redis, stack.keys, got.tally)
        await poll(lambda: health_is(stack, "ok", "degraded"), 30, "health back")
        async with httpx.AsyncClient(timeout=10) as client:
            summary = (await client.get(f"{stack.web_urls['web']}/api/summary?top=100")).json()
        assert_window_equals(summary["windows"]["1d"], got.tally, 100)
        print(
            f"\nE2E redis {how} appendfsync={fsync}: n={N} rate={RATE}/s down_at={down_at} "
            f"stream_unique={len(got.ids)} missing={missing} stream_repeated={got.repeated}"
        )
    finally:
        await redis.aclose()
