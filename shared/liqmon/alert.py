"""The alert: an entry of the public `liq:v1:alerts` stream and the JSON document built
from it (the webhook body, an item of `GET /api/alerts`, the data of SSE `event: alert`).

One owner for the shape: the alerter writes the flat string fields (`ALERT_FIELDS` plus
the kind's own), and everything that shows an alert calls `alert_document` on them, so
the webhook, the API and the dashboard cannot disagree. docs/EVENTS.md documents both.
Version 1 only ever gains optional fields.

`alert_text` is the message a phone shows on its lock screen: the first line carries
side, coin and USD; the next ones exchange/product, price and time (cascade: window,
total, count and the largest liquidation).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal

import orjson

from liqmon.event import cents_to_str

ALERT_VERSION: Final = "1"
Kind = Literal["large", "cascade", "test"]
KINDS: Final = ("large", "cascade", "test")
#: Fields every alert entry carries, in this order; then the kind's own fields.
ALERT_FIELDS: Final = ("v", "id", "rule", "kind", "channels", "fired_at", "ts")
LARGE_FIELDS: Final = ("event",)
CASCADE_FIELDS: Final = (
    "coin", "scope", "side", "window", "window_s", "start_ts", "end_ts",
    "total_cents", "count", "largest",
)  # fmt: skip

SIDE_MARK: Final = {"long": "🔴", "short": "🟢"}


def alert_id(*parts: str) -> str:
    """Deterministic alert id: the first 32 hex digits of sha1 over the parts joined by `|`
    (large: kind, rule, event id; cascade: kind, rule, key, episode start ms). The same
    alert gets the same id in every replica and after any restart."""
    return hashlib.sha1("|".join(parts).encode()).hexdigest()[:32]


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def alert_document(fields: dict[str, str]) -> dict[str, Any]:
    """The versioned JSON document of one alert entry (docs/EVENTS.md § Alerts)."""
    kind = fields.get("kind", "")
    doc: dict[str, Any] = {
        "v": int(fields.get("v") or ALERT_VERSION),
        "id": fields.get("id", ""),
        "rule": fields.get("rule", ""),
        "kind": kind,
        "channels": [c for c in fields.get("channels", "").split(",") if c],
        "fired_at": _int(fields.get("fired_at")),
        "ts": _int(fields.get("ts")),
    }
    if kind == "large":
        doc["event"] = _json(fields.get("event"))
    elif kind == "cascade":
        cents = _int(fields.get("total_cents")) or 0
        doc["cascade"] = {
            "coin": fields.get("coin") or None,
            "scope": fields.get("scope", ""),
            "side": fields.get("side", ""),
            "window": fields.get("window", ""),
            "window_s": _int(fields.get("window_s")),
            "start_ts": _int(fields.get("start_ts")),
            "end_ts": _int(fields.get("end_ts")),
            "total_usd": float(cents_to_str(cents)),
            "total_cents": cents,
            "count": _int(fields.get("count")),
            "largest": _json(fields.get("largest")),
        }
    doc["text"] = alert_text(doc)
    return doc


# --- the lock-screen text -------------------------------------------------------------
def usd_compact(usd: float | Decimal) -> str:
    """`$5.20M`, `$812.4K`, `$1.25B`, `$950`: what fits on a lock screen."""
    value = float(usd)
    for limit, suffix, digits in ((1e9, "B", 2), (1e6, "M", 2), (1e3, "K", 1)):
        if value >= limit:
            return f"${value / limit:.{digits}f}{suffix}"
    return f"${value:,.0f}"


def price_text(price: str) -> str:
    """A decimal string with thousands separators, digits otherwise as sent."""
    whole, dot, frac = str(price).partition(".")
    try:
        grouped = f"{int(whole):,}"
    except ValueError:
        return str(price)
    return grouped + dot + frac


def clock(ms: int | None) -> str:
    if ms is None:
        return "?"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S UTC")


def _where(event: dict[str, Any]) -> str:
    return (
        f"{str(event.get('exchange', '?')).capitalize()} {event.get('product', '')} "
        f"{event.get('instrument', '')} @ {price_text(str(event.get('price', '?')))}"
    )


def alert_text(doc: dict[str, Any]) -> str:
    """Plain text, three short lines; symbols are untrusted (each channel escapes it)."""
    rule = doc.get("rule", "")
    if doc.get("kind") == "large" and isinstance(doc.get("event"), dict):
        ev = doc["event"]
        side = str(ev.get("side", ""))
        return (
            f"{SIDE_MARK.get(side, '⚠️')} {side.upper()} liquidated: {ev.get('symbol')} "
            f"{usd_compact(ev.get('usd', 0))}\n"
            f"{_where(ev)} · qty {ev.get('qty')}\n"
            f"{clock(ev.get('ts'))} · rule {rule}"
        )
    if doc.get("kind") == "cascade" and isinstance(doc.get("cascade"), dict):
        c = doc["cascade"]
        side = str(c.get("side", ""))
        largest = c.get("largest") if isinstance(c.get("largest"), dict) else {}
        return (
            f"🔥 {c.get('scope')} {side.upper()} cascade: {usd_compact(c.get('total_usd', 0))} "
            f"in {c.get('window')}\n"
            f"{c.get('count')} liquidations · largest {usd_compact(largest.get('usd', 0))} "
            f"on {_where(largest)}\n"
            f"{clock(c.get('start_ts'))} → {clock(c.get('end_ts'))} · rule {rule}"
        )
    return f"liqmon test alert · rule {rule} · {clock(doc.get('fired_at'))}"


def probe_fields(fired_at: int, channels: list[str]) -> dict[str, str]:
    """The entry of a `liqmon alerts test` message (never written to the stream)."""
    return {
        "v": ALERT_VERSION,
        "id": alert_id("test", str(fired_at)),
        "rule": "test",
        "kind": "test",
        "channels": ",".join(channels),
        "fired_at": str(fired_at),
        "ts": str(fired_at),
    }
