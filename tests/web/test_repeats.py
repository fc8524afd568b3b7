"""One liquidation, one row (dedup.py): a repeated event id under a second stream id is
listed once by /api/liquidations (within and across pages) and sent once on /api/stream
(live and on a Last-Event-ID replay). The copy shown is the oldest."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon_web.dedup import RecentIds
from liqmon_web.filters import StreamId
from tests.web.conftest import Web
from tests.web.helpers import make_event, now_ms, sse, xadd_now


async def fetch_all(web: Web, params: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(200):
        q = dict(params, **({"cursor": cursor} if cursor else {}))
        body = (await web.client.get("/api/liquidations", params=q)).json()
        items += body["items"]
        cursor = body["next"]
        if cursor is None:
            return items
    raise AssertionError("too many pages")


async def test_a_repeat_is_listed_once_across_pages_as_its_oldest_copy(
    web: Web, redis: Redis, keys: Keys
) -> None:
    start = now_ms() - 5_000
    events = [make_event(ts=start + i, salt=i) for i in range(40)]
    sids = await xadd_now(redis, keys, events)
    # replays of events that sit on other (older) pages than the copy
    (late3,) = await xadd_now(redis, keys, [events[3]])
    (late30,) = await xadd_now(redis, keys, [events[30]])
    for limit in (1, 4, 7, 100):
        items = await fetch_all(web, {"limit": limit})
        ids = [i["id"] for i in items]
        assert sorted(ids) == sorted(e.id for e in events), limit
        shown = {i["id"]: i["stream_id"] for i in items}
        assert shown[events[3].id] == sids[3] and shown[events[30].id] == sids[30]
        assert late3 not in shown.values() and late30 not in shown.values()


async def test_a_repeat_beyond_the_horizon_is_listed_again(
    web: Web, redis: Redis, keys: Keys
) -> None:
    # The first copy reached the stream 20 minutes before the second: beyond
    # REPEAT_HORIZON_MS, so the bounded look-back does not reach it and (as documented)
    # both are listed.
    now = now_ms()
    ev = make_event(ts=now - 30 * 60_000)
    await redis.xadd(keys.events, ev.to_fields(), id=f"{now - 20 * 60_000}-0")  # type: ignore[arg-type]
    await xadd_now(redis, keys, [ev])
    items = (await web.client.get("/api/liquidations")).json()["items"]
    assert [i["id"] for i in items] == [ev.id, ev.id]


async def test_stream_sends_a_repeat_once(web: Web, redis: Redis, keys: Keys) -> None:
    a, b, c = make_event(salt=1), make_event(salt=2), make_event(salt=3)
    async with sse(web.client, "/api/stream") as reader:
        deadline = time.monotonic() + 5
        while not web.server.broadcaster._subs:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        sids = await xadd_now(redis, keys, [a, b, a])
        (sid_c,) = await xadd_now(redis, keys, [c])
        got = await reader.liquidations(3)
    assert [(g.id, g.json()["id"]) for g in got] == [
        (sids[0], a.id),
        (sids[1], b.id),
        (sid_c, c.id),
    ]
    assert web.server.broadcaster.repeats == 1


async def test_replay_skips_a_repeat(web: Web, redis: Redis, keys: Keys) -> None:
    before, a, b, c = (make_event(salt=i) for i in range(4))
    sids = await xadd_now(redis, keys, [before, a, b, a, c])
    async with sse(web.client, "/api/stream", {"Last-Event-ID": sids[0]}) as reader:
        got = await reader.liquidations(3)
    assert [g.json()["id"] for g in got] == [a.id, b.id, c.id]
    assert [g.id for g in got] == [sids[1], sids[2], sids[4]]


def test_recent_ids_keep_the_first_copy_and_forget_the_oldest() -> None:
    recent = RecentIds(size=2)
    assert recent.admit("a", StreamId(1, 0))
    assert recent.admit("a", StreamId(1, 0))  # the same entry read again
    assert not recent.admit("a", StreamId(2, 0))
    assert recent.older_copy("a", StreamId(2, 0)) and not recent.older_copy("a", StreamId(1, 0))
    assert recent.admit("b", StreamId(3, 0)) and recent.admit("c", StreamId(4, 0))
    assert len(recent) == 2
    assert recent.admit("a", StreamId(5, 0))  # forgotten: beyond the bound


async def test_a_late_replay_within_the_horizon_is_listed_once(
    web: Web, redis: Redis, keys: Keys
) -> None:
    # An exchange replays a 5-minute-old liquidation after a collector restart.
    now = now_ms()
    ev = make_event(ts=now - 5 * 60_000)
    first = f"{ev.ts + 40}-0"
    await redis.xadd(keys.events, ev.to_fields(), id=first)  # type: ignore[arg-type]
    others = [make_event(ts=now - 4 * 60_000 + i, salt=i + 1) for i in range(20)]
    await xadd_now(redis, keys, [*others, ev])
    items = await fetch_all(web, {"limit": 3})
    assert [i["stream_id"] for i in items if i["id"] == ev.id] == [first]
    assert len(items) == 21
