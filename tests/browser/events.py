"""Liquidation events for the browser tests, written to the real stream with the bus."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

from redis.asyncio import Redis

from liqmon.bus import append_events
from liqmon.clock import now_ms
from liqmon.event import LiquidationEvent, to_cents
from liqmon.keys import Keys
from tests.web.helpers import index_by_symbol
from tests.web.helpers import make_event as web_event

RETENTION_MS = 2 * 86_400_000
_counter = 0


def make_event(
    symbol: str = "BTC",
    exchange: str = "binance",
    side: str = "long",
    usd: str | Decimal = "12345.67",
    price: str = "97000.5",
    ts: int | None = None,
) -> LiquidationEvent:
    """A valid event (the web tests' factory); each call gets a distinct id."""
    global _counter
    _counter += 1
    return web_event(
        ts=ts if ts is not None else now_ms() - (_counter % 500),
        symbol=symbol,
        exchange=exchange,
        side=side,
        usd_cents=to_cents(Decimal(usd)),
        price=price,
        salt=_counter,  # distinct ids: the aggregator dedups by id
    )


async def write(redis: Redis, keys: Keys, events: Sequence[LiquidationEvent]) -> list[str]:
    ids = await append_events(redis, keys, events, retention_ms=RETENTION_MS)
    await index_by_symbol(redis, keys, events, ids)
    return ids


async def write_applied(
    redis: Redis, keys: Keys, redis_url: str, events: Sequence[LiquidationEvent]
) -> list[str]:
    """`write`, then apply the events to the windows (the aggregator's `drain`): totals,
    rankings and venues show them from the page's first summary on."""
    from liqmon_aggregator.testing import drain

    ids = await write(redis, keys, events)
    await drain(redis_url)
    return ids


#: A realistic market: (coin, typical price) for the screenshot and layout tests.
MARKET = [
    ("BTC", "97000.5"), ("ETH", "3612.4"), ("SOL", "242.17"), ("XRP", "1.4321"),
    ("DOGE", "0.41235"), ("SUI", "4.1234"), ("PEPE", "0.00002134"), ("WIF", "3.217"),
    ("AVAX", "48.21"), ("LINK", "24.118"), ("BONK", "0.00004712"), ("ADA", "1.0923"),
    ("TRX", "0.2534"), ("LTC", "118.42"), ("ENA", "1.1234"), ("FARTCOIN", "1.4421"),
]  # fmt: skip


def market_events(n: int, seed: int = 7, spread_ms: int = 50 * 60_000) -> list[LiquidationEvent]:
    """`n` events over the last `spread_ms`, many coins, both exchanges, heavy-tailed sizes."""
    rng = random.Random(seed)
    now = now_ms()
    out = []
    for i in range(n):
        symbol, price = MARKET[min(int(rng.expovariate(0.35)), len(MARKET) - 1)]
        exchange = rng.choice(("binance", "binance", "okx"))
        usd = Decimal(str(round(10 ** rng.uniform(2.3, 6.4), 2)))
        ts = now - int(spread_ms * (1 - i / n)) if spread_ms else now
        out.append(
            make_event(symbol, exchange, rng.choice(("long", "long", "short")), usd, price, ts)
        )
    return out
