"""Build valid events for the aggregator tests (deterministic ids, any time, any size)."""

from __future__ import annotations

from decimal import Decimal

from liqmon.event import PRODUCTS, LiquidationEvent


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
