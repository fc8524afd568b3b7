"""Every event the web serves is the full EVENT of docs/EVENTS.md: the fields the stream
schema requires (`v` included, which the API once left out), plus `stream_id`, whether it
comes from /api/liquidations, the live stream or a Last-Event-ID replay."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.web.conftest import Web
from tests.web.helpers import make_event, sse, xadd_now

EVENTS_MD = Path(__file__).resolve().parents[2] / "docs" / "EVENTS.md"


def documented_fields() -> list[str]:
    """The `required` list of the JSON Schema in docs/EVENTS.md."""
    block = re.search(r"```json\n(.*?)```", EVENTS_MD.read_text(), re.S)
    assert block is not None, "no JSON Schema in docs/EVENTS.md"
    required: list[str] = json.loads(block.group(1))["required"]
    assert "v" in required and "id" in required
    return required


def assert_full_event(item: dict[str, Any], sid: str) -> None:
    missing = [f for f in documented_fields() if f not in item]
    assert not missing, f"EVENT lacks {missing}: {item}"
    assert item["v"] == 1
    assert item["stream_id"] == sid


async def test_tape_items_carry_every_documented_field(web: Web, redis: Redis, keys: Keys) -> None:
    ev = make_event(symbol="ETH")
    [sid] = await xadd_now(redis, keys, [ev])
    for params in ({}, {"symbol": "ETH"}, {"exchange": "binance"}):
        [item] = (await web.client.get("/api/liquidations", params=params)).json()["items"]
        assert_full_event(item, sid)


async def test_stream_and_replay_events_carry_every_documented_field(
    web: Web, redis: Redis, keys: Keys
) -> None:
    anchor, before = await xadd_now(redis, keys, [make_event(salt=0), make_event(salt=1)])
    async with sse(web.client, "/api/stream", {"Last-Event-ID": anchor}) as reader:
        [replayed] = await reader.liquidations(1)
        assert_full_event(replayed.json(), before)
        [sid] = await xadd_now(redis, keys, [make_event(salt=2)])
        [live] = await reader.liquidations(1)
    assert_full_event(live.json(), sid)
