"""Build valid events for the aggregator tests (deterministic ids, any time, any size), and
the applier and evictor driven by a test clock."""

from __future__ import annotations

from decimal import Decimal

from redis.asyncio import Redis

from liqmon.event import PRODUCTS, LiquidationEvent
from liqmon.keys import Keys
from liqmon_aggregator.apply import Applier
from liqmon_aggregator.evictor import Evictor

RETENTION_MS = 48 * 3_600_000


def make_event(
    n: int,
    ts: int,
    *,
    symbol: str = "BTC",
    side: str = "long",
    cents: int = 100_000,
    exchange: str = "binance",
    price: str = "95000.5",
    sampled: bool = False,
    event_id: str | None = None,
) -> LiquidationEvent:
    return LiquidationEvent(
        id=event_id or f"{n:032x}",
        exchange=exchange,
        product=PRODUCTS[exchange][0],
        margin="linear",
        instrument=f"{symbol}-USDT",
        symbol=symbol,
        side=side,  # type: ignore[arg-type]
        price=Decimal(price),
        price_kind="avg_fill",
        qty=Decimal("1"),
        usd_cents=cents,
        ts=ts,
        recv_ts=ts,
        sampled=sampled,
    )


def clocked(
    redis: Redis, keys: Keys, clock: list[int], *, max_future_ms: int
) -> tuple[Applier, Evictor]:
    """An applier (no consumer group) and an evictor whose "now" is clock[0]."""
    applier = Applier(
        redis, keys, retention_ms=RETENTION_MS, max_future_ms=max_future_ms,
        group="", clock=lambda: clock[0],
    )  # fmt: skip
    return applier, Evictor(redis, keys, clock=lambda: clock[0])
