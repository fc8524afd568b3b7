"""Review: the same liquidation can reach the stream twice (two replicas of a collector, as
`docker compose up --scale collector-okx=2` runs them; or OKX replaying an old liquidation
after a collector restart, when the in-memory repeat filter is empty). The windows count it
once, but the tape API returns it twice, so the dashboard's tape (which dedups by stream id
only) shows the row twice. Reproduced on `liqmon up --demo` by re-adding the newest entry:
/api/liquidations listed its event id under two stream ids while /api/health counted one
duplicate."""

from __future__ import annotations

from redis.asyncio import Redis

from liqmon.keys import Keys
from tests.web.conftest import Web
from tests.web.helpers import make_event, xadd_now


async def test_tape_lists_a_replayed_liquidation_once(web: Web, redis: Redis, keys: Keys) -> None:
    first, second = make_event(salt=1), make_event(salt=2, symbol="ETH")
    await xadd_now(redis, keys, [first, second, first])  # collector replica / replay
    response = await web.client.get("/api/liquidations", params={"limit": 10})
    assert response.status_code == 200
    ids = [item["id"] for item in response.json()["items"]]
    assert sorted(ids) == sorted([first.id, second.id]), ids
