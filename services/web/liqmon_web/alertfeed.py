"""Alerts in the web service: the page of `GET /api/alerts`, the alerter's part of
`/api/health` and `/metrics`, and the reader that turns `liq:v1:alerts` into SSE
`event: alert` frames.

Everything an alert shows is `liqmon.alert.alert_document` of its stream entry (the same
JSON the webhook receives), plus `stream_id` and, per channel, the delivery state read
from the alerter's claims (`queued`, `sending`, `sent`, `dead`). Secrets live only in the
alerter's rules file; nothing read here can hold one (dead-letter reasons are redacted by
the alerter before they are stored).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from liqmon.alert import alert_document
from liqmon.backoff import Backoff
from liqmon.healthcheck import FRESH_MS  # one liveness window for every check
from liqmon.keys import Keys
from liqmon.logs import LogOnce
from liqmon_web.sse_frames import sse_frame
from liqmon_web.stream_ids import as_entries

logger = logging.getLogger(__name__)

READ_BLOCK_MS = 1000
CHANNEL_INT_FIELDS = ("sent", "retries", "deadlettered", "takeovers", "last_sent_ms")


def alert_frame(stream_id: str, doc: dict[str, Any]) -> bytes:
    """SSE `event: alert` (no `id:` line: the liquidation stream owns Last-Event-ID)."""
    return sse_frame("alert", None, orjson.dumps({"stream_id": stream_id, **doc}))


def _delivery(claim: str | None) -> str:
    return (claim or "queued").split("|", 1)[0]


async def read_alerts(
    redis: Redis, keys: Keys, *, limit: int, cursor: object | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Alerts newest first, `limit` per page, older than `cursor` (a validated stream id,
    exclusive)."""
    top = f"({cursor}" if cursor is not None else "+"
    reply: Any = await redis.xrevrange(keys.alerts, max=top, min="-", count=limit + 1)
    entries = as_entries(reply)
    more = len(entries) > limit
    entries = entries[:limit]
    docs = [(str(sid), alert_document(fields)) for sid, fields in entries]
    pipe = redis.pipeline(transaction=False)
    for _, doc in docs:
        for channel in doc["channels"]:
            pipe.get(keys.alerter_sent(channel, doc["id"]))
    claims = iter(await pipe.execute() if docs else [])
    items = []
    for sid, doc in docs:
        deliveries = {channel: _delivery(next(claims)) for channel in doc["channels"]}
        items.append({"stream_id": sid, **doc, "deliveries": deliveries})
    return items, (str(entries[-1][0]) if more and entries else None)


async def alerter_health(redis: Redis, keys: Keys, now: int) -> dict[str, Any]:
    """Per channel: type, state (ok | retrying | failing | idle), sent, retries, dead
    letters, takeovers, queued (outbox length), last error; the live consumers; counters.
    `{"configured": False}` when no alerter ever ran."""
    raw_channels = await redis.hgetall(keys.alerter_channels)
    channels = {str(name): str(kind) for name, kind in raw_channels.items()}
    if not channels:
        return {"configured": False}
    names = sorted(channels)
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.alerter_channel(name))
        pipe.xlen(keys.alerter_outbox(name))
    pipe.zrange(keys.alerter_consumers, 0, -1, withscores=True)
    pipe.hgetall(keys.alerter_stats)
    pipe.xlen(keys.alerter_deadletter)
    replies = await pipe.execute()
    out: dict[str, Any] = {}
    for i, name in enumerate(names):
        raw: dict[str, str] = replies[2 * i]
        channel: dict[str, Any] = {
            "type": channels[name],
            "state": raw.get("state") or "idle",
            "queued": int(replies[2 * i + 1]),
            "last_error": raw.get("last_error") or None,
        }
        for field in CHANNEL_INT_FIELDS:
            channel[field] = int(raw.get(field) or 0)
        out[name] = channel
    stats = {k: int(v) for k, v in replies[-2].items() if v.lstrip("-").isdigit()}
    beats = [(str(name), int(ms)) for name, ms in replies[-3]]
    return {
        "configured": True,
        "alive": [name for name, ms in beats if ms >= now - FRESH_MS],
        # consumers that stopped without a clean shutdown (a clean stop removes its beat)
        "dead": [name for name, ms in beats if ms < now - FRESH_MS],
        "channels": out,
        "stats": stats,
        "deadletters": int(replies[-1]),
    }


def alerter_reasons(alerter: dict[str, Any]) -> list[str]:
    """Problems for `/api/health` `reasons` (each makes the status `degraded`)."""
    if not alerter.get("configured"):
        return []
    reasons = []
    if alerter.get("dead") and not alerter.get("alive"):
        reasons.append("alerter not running (no heartbeat in 30 s; it did not stop cleanly)")
    for name, channel in sorted(alerter.get("channels", {}).items()):
        if channel["state"] in ("retrying", "failing"):
            reasons.append(f"alert channel {name} {channel['state']}: {channel['last_error']}")
    return reasons


async def run_alert_feed(
    reader: Redis, keys: Keys, publish: Callable[[bytes], None], stopping: asyncio.Event
) -> None:
    """One XREAD loop per web process from the stream's tip: each new alert is encoded
    once and handed to every SSE client (`publish`)."""
    log_once = LogOnce(logger)
    last: str | None = None  # the newest id seen; fixed at the tip on the first read
    backoff = Backoff(0.1, 2.0, jitter=0.5)
    while not stopping.is_set():
        try:
            if last is None:
                newest = await reader.xrevrange(keys.alerts, count=1)
                last = str(newest[0][0]) if newest else "0-0"
            reply: Any = await reader.xread({keys.alerts: last}, count=100, block=READ_BLOCK_MS)
            backoff.reset()
        except RedisError as exc:
            log_once.warning("alert-feed", "alert feed: %s; retrying", exc)
            await asyncio.sleep(backoff.next())
            continue
        entries = as_entries(reply[0][1] if reply else [])
        for sid, fields in entries:
            last = str(sid)
            publish(alert_frame(last, alert_document(fields)))


#: channel field -> (metric name, type, help)
CHANNEL_METRICS = {
    "sent": ("liqmon_alerter_sent_total", "counter", "alerts delivered to the channel"),
    "retries": ("liqmon_alerter_retries_total", "counter", "failed attempts retried"),
    "deadlettered": ("liqmon_alerter_deadlettered_total", "counter", "alerts given up"),
    "takeovers": ("liqmon_alerter_takeovers_total", "counter", "deliveries taken over"),
    "queued": ("liqmon_alerter_queued", "gauge", "alerts waiting in the channel's outbox"),
}


Sample = tuple[str, str, str, float, dict[str, str]]


def alerter_metrics(alerter: dict[str, Any]) -> list[Sample]:
    """The alerter's samples for /metrics: (name, "counter" | "gauge", help, value,
    labels). Channel names are `[A-Za-z0-9_-]` (the rules file checks), types fixed words."""
    if not alerter.get("configured"):
        return []
    out: list[Sample] = [
        ("liqmon_alerter_alive", "gauge", "alerter consumers with a fresh heartbeat",
         len(alerter.get("alive", [])), {}),
    ]  # fmt: skip
    for name, channel in sorted(alerter.get("channels", {}).items()):
        labels = {"channel": name, "type": channel["type"]}
        ok = int(channel["state"] in ("ok", "idle"))
        out.append(
            ("liqmon_alerter_channel_ok", "gauge", "1 unless retrying or failing", ok, labels)
        )
        for field, (metric, kind, help_text) in CHANNEL_METRICS.items():
            out.append((metric, kind, help_text, channel[field], labels))
    for field, value in sorted(alerter.get("stats", {}).items()):
        out.append((f"liqmon_alerter_{field}_total", "counter", f"alerter {field}", value, {}))
    return out
