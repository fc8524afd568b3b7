"""Two aggregators and two web processes at once, SSE clients on both webs.

The aggregators share the consumer group: together they give exactly the ledger's totals
(each event applied once, whichever process got it). Every SSE client, on either web,
sees every stream entry exactly once, counted by stream id; a client the server drops for
being slow resumes with Last-Event-ID, as a browser would, and must still see no gap and
no repeat. Both webs answer /api/summary with the same, exact 1d window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import httpx
import pytest
from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.e2e.conftest import COLLECTORS, Stack, StackFactory, poll
from tests.e2e.exact import assert_views_equal, assert_window_equals, ledger_tally, stream_view

pytestmark = pytest.mark.slow


class SseClient:
    """Counts `event: liquidation` ids; reconnects with Last-Event-ID when dropped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ids: Counter[str] = Counter()
        #: From the (empty) stream's start: whatever is written before the server has
        #: subscribed this client is replayed to it, so no entry depends on that timing.
        self.last_id: str | None = "0-0"
        self.connected = asyncio.Event()
        self.reconnects = 0
        self.resets = 0

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=60)) as client:
            while True:
                headers = {"Last-Event-ID": self.last_id} if self.last_id else {}
                with contextlib.suppress(httpx.HTTPError):
                    async with client.stream("GET", self.url, headers=headers) as resp:
                        assert resp.status_code == 200, resp.status_code
                        self.connected.set()
                        await self._read(resp)
                self.reconnects += 1
                await asyncio.sleep(0.1)

    async def _read(self, resp: httpx.Response) -> None:
        event, sid = "message", None
        async for line in resp.aiter_lines():
            if line == "":
                if event == "liquidation" and sid is not None:
                    self.ids[sid] += 1
                elif event == "reset":
                    self.resets += 1
                event, sid = "message", None
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("id:"):
                sid = self.last_id = line[3:].strip()


async def web_summary(url: str) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=10) as client:
        resp = await client.get(f"{url}/api/summary", params={"top": 100})
    body: dict[str, object] = resp.json()
    return body


@pytest.mark.timeout(90)
async def test_two_aggregators_two_webs_every_client_sees_every_event_once(
    make_stack: StackFactory, redis_url: str, redis: Redis, keys: Keys
) -> None:
    stack: Stack = await make_stack(redis_url)
    await stack.start_sim()
    for label in ("aggregator#1", "aggregator#2"):
        stack.start("aggregator", label)
    for label in ("web#1", "web#2"):
        stack.start("web", label)
    for name in COLLECTORS:
        stack.start(name)
    await stack.wait_subscribed()

    async def webs_answer() -> bool:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                for url in stack.web_urls.values():
                    (await client.get(f"{url}/api/health")).raise_for_status()
        except httpx.HTTPError:
            return False
        return True

    await poll(webs_answer, 20, "both webs to answer")
    clients = [SseClient(f"{url}/api/stream") for url in stack.web_urls.values() for _ in (1, 2)]
    tasks = [asyncio.create_task(c.run()) for c in clients]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 20)
        n = 10_000
        await stack.control("faults", duplicate_fraction=0.05)  # the exchange repeats itself
        run = (await stack.control("run", n=n, rate=2000))["run"]
        await stack.wait_run(run, timeout=60)
        want = ledger_tally(await stack.ledger_entries())
        assert want.count == n
        await stack.wait_drained(redis, n, timeout=60)
        got = await stream_view(redis, keys)
        assert got.tally.keys == want.keys
        everything = set(got.stream_ids)

        async def all_delivered() -> bool:
            return all(set(c.ids) >= everything for c in clients)

        await poll(all_delivered, 30, "every SSE client to see every stream entry")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for c in clients:
        assert set(c.ids) == everything, c.url
        assert max(c.ids.values()) == 1, "an entry delivered twice"
        assert c.resets == 0
    await assert_views_equal(redis, keys, want)
    for url in stack.web_urls.values():
        summary = await web_summary(url)
        assert_window_equals(summary["windows"]["1d"], want, 100)  # type: ignore[index]
    names = {
        line.split("consuming as ")[1].split()[0]
        for label in ("aggregator#1", "aggregator#2")
        for line in stack.procs[label].log().splitlines()
        if "consuming as" in line
    }
    assert len(names) == 2, "two distinct consumers in the group"
    print(
        f"\nE2E scale-out: n={n} stream_entries={len(everything)} clients={len(clients)} "
        f"reconnects={[c.reconnects for c in clients]}"
    )
