"""SIGKILL each service in turn during a cascade; restart; the totals are exact.

The aggregator and the web hold no state of their own (everything is in Redis), so a
SIGKILL of either loses nothing: the 1d window equals the simulator's ledger exactly.

A SIGKILLed collector loses the frames that were in its socket buffers and its not yet
written batch: the exchange does not resend them (neither does the simulator), and the
ledger counts a frame once it was written to the socket. That loss is real and is what we
measure: `missing` = ledger - stream, asserted bounded (at most the events of the kill's
last ~second at the run's rate) and printed for docs/RELIABILITY.md. Everything that did
reach the stream is then counted exactly once by the aggregator (1d == stream).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.e2e.conftest import SIM_VENUES, Stack, StackFactory, poll
from tests.e2e.exact import assert_views_equal, assert_window_equals, ledger_tally, stream_view

pytestmark = pytest.mark.slow


async def applied(redis: Redis, keys: Keys) -> int:
    return int(await redis.hget(keys.agg_stats(1), "applied") or 0)


async def when_applied(stack: Stack, redis: Redis, n: int) -> None:
    async def reached() -> bool:
        return await applied(redis, stack.keys) >= n

    await poll(reached, 60, f"{n} events applied")


async def ledger_count(stack: Stack) -> int:
    return int((await stack.sim_get("/_sim/totals"))["count"])


async def when_emitted(stack: Stack, n: int) -> None:
    async def reached() -> bool:
        return await ledger_count(stack) >= n

    await poll(reached, 60, f"{n} liquidations emitted")


async def full_stack(stack: Stack) -> None:
    # the cascade's market (85 % longs, fat tails, hundreds of symbols, sliding prices),
    # silent (rate x 0) until the test starts a finite run at an explicit rate
    await stack.start_sim(LIQMON_SIM_SCENARIO="cascade", LIQMON_SIM_RATE_MULTIPLIER="0")
    for name in ("aggregator", "web", "collector-binance", "collector-okx"):
        stack.start(name)
    await stack.wait_subscribed()


async def summary_from_web(stack: Stack, top: int = 100) -> dict[str, object]:
    url = stack.web_urls["web"]
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(f"{url}/api/summary", params={"top": top})
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


async def web_answers(stack: Stack) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{stack.web_urls['web']}/api/health")).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.timeout(120)
async def test_sigkill_aggregator_and_web_in_a_50k_cascade_loses_nothing(
    make_stack: StackFactory, redis_url: str, redis: Redis, keys: Keys
) -> None:
    stack = await make_stack(redis_url)
    await full_stack(stack)
    n = 50_000
    run = (await stack.control("run", n=n, rate=5000))["run"]

    await when_applied(stack, redis, 8_000)
    stack.kill("aggregator")  # mid-batch: its in-flight entries stay pending
    await when_emitted(stack, 20_000)
    stack.start("aggregator")
    stack.kill("web")
    stack.start("web")
    await when_applied(stack, redis, 25_000)
    stack.kill("aggregator")
    stack.start("aggregator")  # the dead one's lease expires; its PEL is claimed

    await stack.wait_run(run, timeout=90)
    entries = await stack.ledger_entries()
    want = ledger_tally(entries)
    assert want.count == n
    await stack.wait_drained(redis, n, timeout=90)
    got = await stream_view(redis, keys)
    assert got.tally.keys == want.keys, "stream == ledger, liquidation by liquidation"
    await assert_views_equal(redis, keys, want)
    await poll(lambda: web_answers(stack), 20, "the restarted web to answer")
    summary = await summary_from_web(stack)
    assert_window_equals(summary["windows"]["1d"], want, 100)  # type: ignore[index]
    print(
        f"\nE2E kill aggregator x2 + web: n={n} ledger={want.count} stream_unique={len(got.ids)}"
        f" stream_repeated={got.repeated} missing=0"
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("victim", ["collector-binance", "collector-okx"])
async def test_sigkill_a_collector_loses_only_its_in_flight_frames(
    victim: str, make_stack: StackFactory, redis_url: str, redis: Redis, keys: Keys
) -> None:
    stack = await make_stack(redis_url)
    await full_stack(stack)
    n, rate = 20_000, 4000
    run = (await stack.control("run", n=n, rate=rate))["run"]
    await when_emitted(stack, 6_000)
    stack.kill(victim)
    lost_venues = [v for v in SIM_VENUES if v.startswith(victim.split("-")[1])]

    async def venue_saw_it() -> bool:  # the exchange sees the socket go: the outage began
        venues = await stack.venue_stats()
        return all(venues[v]["connections"] == 0 for v in lost_venues)

    await poll(venue_saw_it, 10, f"{victim}'s sockets closed at the exchange")
    stack.start(victim)  # the run goes on on the other venues meanwhile
    await stack.wait_run(run, timeout=90)
    want = ledger_tally(await stack.ledger_entries())
    assert want.count == n

    async def stream_settled() -> bool:  # the stream stops growing once everything landed
        before = await redis.xlen(keys.events)
        await asyncio.sleep(1.0)
        return await redis.xlen(keys.events) == before

    await poll(stream_settled, 30, "the stream to settle")
    got = await stream_view(redis, keys)
    invented = got.tally.keys - want.keys
    missing = want.keys - got.tally.keys
    assert not invented, f"events in the stream the exchange never sent: {list(invented)[:5]}"
    lost = sum(missing.values())
    # what a kill can lose: the frames in its socket buffers and its unflushed batch,
    # all of the killed venue(s) — at most about a second of the run's rate
    assert lost <= rate, f"{lost} lost by one SIGKILL"
    assert {k[0] for k in missing} <= {victim.split("-")[1]}, "only the victim's venue lost"
    await stack.wait_drained(redis, len(got.ids), timeout=60)
    await assert_views_equal(redis, keys, got.tally)
    summary = await summary_from_web(stack)
    assert_window_equals(summary["windows"]["1d"], got.tally, 100)  # type: ignore[index]
    print(
        f"\nE2E kill {victim}: n={n} rate={rate}/s ledger={want.count} "
        f"stream_unique={len(got.ids)} lost={lost} stream_repeated={got.repeated}"
    )
