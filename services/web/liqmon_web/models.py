"""Response shapes, for /openapi.json and /docs only.

The routes return bytes serialized with orjson (the read model already produces plain
dicts, and validating them again per request would cost more than the read itself), so
these models document the contract; tests check real responses against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Event(BaseModel):
    """One liquidation (docs/EVENTS.md) plus the Redis stream id it has in the stream."""

    stream_id: str = Field(examples=["1732780000123-0"])
    v: int = Field(description="schema version of docs/EVENTS.md (the stream's `v`)", examples=[1])
    id: str
    exchange: str = Field(examples=["binance"])
    product: str = Field(examples=["binance-usdm"])
    margin: Literal["linear", "inverse"]
    instrument: str = Field(examples=["BTCUSDT"])
    symbol: str = Field(examples=["BTC"])
    side: Literal["long", "short"]
    price: str = Field(description="decimal string", examples=["97000.5"])
    price_kind: Literal["avg_fill", "bankruptcy", "order", "fill", "base_price"]
    qty: str = Field(description="decimal string, in units of symbol")
    usd: float = Field(description="USD notional, 2 decimals")
    ts: int = Field(description="event time, epoch ms")
    recv_ts: int = Field(description="time the collector received it, epoch ms")
    sampled: bool


class LiquidationsPage(BaseModel):
    items: list[Event]
    next: str | None = Field(
        description="pass as `cursor` for older items; null when the range is exhausted. "
        "A page may hold fewer than `limit` items (even none) while `next` is not null: "
        "each request reads a bounded number of entries."
    )


class SideTotals(BaseModel):
    long_usd: float
    short_usd: float
    long_count: int
    short_count: int


class TopEntry(BaseModel):
    symbol: str
    usd: float
    count: int


class Window(SideTotals):
    by_exchange: dict[str, SideTotals]
    top_long: list[TopEntry]
    top_short: list[TopEntry]
    largest: Event | None
    incomplete: bool = Field(description="the window reaches back before data began")
    capped_seconds: int


class Summary(BaseModel):
    as_of: int
    windows: dict[str, Window] = Field(
        description="keys 3m, 15m, 1h, 4h, 12h, 1d, in display order (shortest first); "
        "the dashboard shows them in the order sent"
    )


class SymbolWindow(SideTotals):
    long_avg_price: float | str | None
    short_avg_price: float | str | None


class SymbolView(BaseModel):
    symbol: str
    windows: dict[str, SymbolWindow] = Field(description="the summary's windows, same order")


class SeriesPoint(BaseModel):
    t: int = Field(description="minute start, epoch ms")
    long_usd: float
    short_usd: float


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    as_of: int
    reasons: list[str]
    redis: dict[str, Any]
    collectors: dict[str, dict[str, Any]] = Field(
        description="per exchange: up, connected, sampled (the venue publishes only a sample), "
        "since, last_event_ts (0 before the first event), last_event_age_ms (null before it), "
        "events, errors, reconnects, gap_open_since, "
        "gaps [{start, end}], notes (null, or what the venue's numbers rest on where that is "
        "decided at run time: Gate's side convention and the REST evidence for it), "
        "replicas (how many processes collecting it published their status in the last 30 s: "
        "replicas share one status), replicas_connected (of those, how many have every "
        "connection up; with replicas, connected means at least one), ..."
    )
    aggregator: dict[str, Any] = Field(description="lag, pending, consumers, ...")
    alerter: dict[str, Any] = Field(
        default_factory=dict,
        description="configured; alive, dead (consumers); channels: per channel type, state "
        "(ok, retrying, "
        "failing, idle), sent, retries, deadlettered, takeovers, queued, last_error; stats",
    )


class ErrorBody(BaseModel):
    error: str = Field(description="one sentence naming the parameter or the problem")
    detail: list[dict[str, Any]]


ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "a parameter is invalid (named in `error`)"},
    503: {"model": ErrorBody, "description": "Redis is unreachable; retry"},
}
