"""`GET /api/health`: is the pipeline alive, and if not, which part is not.

Status:
- `down`: Redis does not answer (still HTTP 200: the web process itself is alive and
  says so; a container healthcheck only needs the 200).
- `degraded`: an expected collector's status hash is missing (it expires ~30 s after
  the collector stops refreshing it) or says disconnected (with replicas: none of them is
  connected), or some of its replicas are disconnected; or the aggregator lags by more
  than `web_max_aggregator_lag` entries or no consumer has a heartbeat in the last 30 s
  (`aggregator.alive` lists those that do).
- `ok`: none of that. `reasons` lists every problem found, in plain words.

Collectors: the expected ones (`LIQMON_WEB_EXPECTED_COLLECTORS`, default: every venue of
`liqmon.venues`) are always listed; another venue is listed whenever its status hash exists.
Each says whether its venue publishes every liquidation (`sampled: false`) or only a sample.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from liqmon import views
from liqmon.healthcheck import FRESH_MS  # one liveness window for every check
from liqmon.keys import Keys
from liqmon.venues import PRODUCTS, SAMPLED_EXCHANGES
from liqmon_web.alertfeed import alerter_health, alerter_reasons
from liqmon_web.settings import WebSettings

GAPS_SHOWN = 10
PING_TIMEOUT_S = 2.0
INT_FIELDS = (
    "since", "last_frame_ts", "last_event_ts", "events", "errors", "deadletters",
    "reconnects", "buffered", "buffer_dropped", "held", "gap_open_since", "updated", "pid",
)  # fmt: skip


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def parse_collector(raw: dict[str, str], gaps: list[tuple[str, float]], now: int) -> dict[str, Any]:
    """A collector status hash (strings) -> typed JSON; an empty hash means not running."""
    up = bool(raw)
    out: dict[str, Any] = {"up": up, "connected": up and raw.get("connected") == "1"}
    for name in INT_FIELDS:
        out[name] = _int(raw.get(name))
    out["last_error"] = raw.get("last_error") or None
    try:
        connections = orjson.loads(raw.get("connections") or "[]")
    except orjson.JSONDecodeError:
        connections = []
    out["connections"] = connections if isinstance(connections, list) else []
    # what a venue's numbers rest on where it is decided at run time (Gate's side rule)
    try:
        notes = orjson.loads(raw.get("notes") or "null")
    except orjson.JSONDecodeError:
        notes = None
    out["notes"] = notes if isinstance(notes, dict) else None
    last = out["last_event_ts"]
    # 0 until the collector's first event: no age then (not "since 1970")
    out["last_event_age_ms"] = now - last if isinstance(last, int) and last > 0 else None
    parsed_gaps = []
    for member, _score in gaps:
        start, _, end = member.partition(":")
        if _int(start) is not None and _int(end) is not None:
            parsed_gaps.append({"start": int(start), "end": int(end)})
    out["gaps"] = parsed_gaps
    return out


async def read_collectors(
    redis: Redis, keys: Keys, now: int
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Every known venue's status and recent gaps, and the aggregator consumers with a
    fresh heartbeat, in one pipelined round trip."""
    names = sorted(PRODUCTS)
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.collector_status(name))
        pipe.zrevrange(keys.collector_gaps(name), 0, GAPS_SHOWN - 1, withscores=True)
        pipe.zcount(keys.collector_replicas(name), now - FRESH_MS, "+inf")
        pipe.zcount(keys.collector_replicas_connected(name), now - FRESH_MS, "+inf")
    pipe.zrangebyscore(keys.aggregator_consumers, now - FRESH_MS, "+inf")
    replies = await pipe.execute()
    collectors = {}
    for i, name in enumerate(names):
        status, gaps, replicas, connected = replies[4 * i : 4 * i + 4]
        # `sampled`: the venue publishes only a sample (liqmon.venues)
        collectors[name] = {
            **parse_collector(status, gaps, now),
            "sampled": name in SAMPLED_EXCHANGES,
            **replica_counts(int(replicas), int(connected)),
        }
        if replicas:  # the shared hash's `connected` is only the last writer's
            collectors[name]["connected"] = collectors[name]["up"] and connected > 0
    return collectors, [str(name) for name in replies[-1]]


def replica_counts(replicas: int, connected: int) -> dict[str, int]:
    """The hosts whose collector of a venue published in the last 30 s, and those of them
    with every connection up (replicas share the status hash; a collector older than the
    replicas sets counts as none, and the hash's `connected` stands)."""
    return {"replicas": replicas, "replicas_connected": min(connected, replicas)}


async def collect(redis: Redis, keys: Keys, settings: WebSettings) -> dict[str, Any]:
    """The health document (also the source of the pipeline gauges in /metrics)."""
    now = time.time_ns() // 1_000_000
    began = time.perf_counter()
    try:
        await asyncio.wait_for(redis.ping(), PING_TIMEOUT_S)
        latency = round((time.perf_counter() - began) * 1000, 2)
        collectors, alive = await read_collectors(redis, keys, now)
        aggregator = await views.read_aggregator_health(redis, keys)
        aggregator["alive"] = alive
        alerter = await alerter_health(redis, keys, now)
    except (RedisError, OSError, TimeoutError) as exc:
        return {
            "status": "down",
            "as_of": now,
            "reasons": [f"redis unreachable: {exc}"[:300]],
            "redis": {"ok": False, "error": str(exc)[:300]},
            "collectors": {},
            "aggregator": {},
            "alerter": {},
        }
    expected = settings.web_expected_collectors
    shown = {n: c for n, c in collectors.items() if n in expected or c["up"]}
    reasons = []
    for name in expected:
        if not shown[name]["up"]:
            reasons.append(f"{name} collector not running")
        elif not shown[name]["connected"]:
            reasons.append(f"{name} collector disconnected")
        elif shown[name]["replicas_connected"] < shown[name]["replicas"]:
            c = shown[name]
            down = c["replicas"] - c["replicas_connected"]
            reasons.append(f"{name}: {down} of {c['replicas']} collector replicas disconnected")
    lag = aggregator.get("lag")
    if isinstance(lag, int | float) and lag > settings.web_max_aggregator_lag:
        reasons.append(f"aggregator lags by {lag} entries")
    if not alive:
        reasons.append("no aggregator running (no heartbeat in 30 s)")
    reasons += alerter_reasons(alerter)
    return {
        "status": "degraded" if reasons else "ok",
        "as_of": now,
        "reasons": reasons,
        "redis": {"ok": True, "latency_ms": latency},
        "collectors": shown,
        "aggregator": aggregator,
        "alerter": alerter,
    }
