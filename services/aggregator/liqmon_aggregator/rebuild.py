"""`liqmon rebuild`: recompute all derived state from the event stream, then swap.

It also puts back the per-symbol index entries the stream's index misses
(`symbol_index.backfill_symbol_index`: entries appended before the index existed).

For recovery (a bug, a lost key, drift) and for schema changes. Live aggregators keep
serving generation N while this fills N+1 from XRANGE; then the pointer is swapped and a
final catch-up pass applies whatever arrived meanwhile (apply.lua dedups the overlap, and
an apply to N refuses once the pointer moved, so nothing falls between the two). Old
keys are deleted afterwards. Too-late events still feed the per-minute series (deduped),
so charts older than a day survive a rebuild as long as the stream retains them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets

from redis.asyncio import Redis

from liqmon.event import InvalidEvent
from liqmon.keys import Keys
from liqmon.logs import configure_logging
from liqmon.redis_client import create_redis, wait_for_redis
from liqmon.settings import load_settings
from liqmon.windows import LAYOUT_VERSION, read_generation

from .apply import Applier, Clock, Prepared, prepare_fields
from .evictor import Evictor
from .layout import Layout
from .settings import AggregatorSettings
from .symbol_index import backfill_symbol_index

logger = logging.getLogger(__name__)

PAGE = 1000
LOCK_MS = 3_600_000


async def delete_generation(redis: Redis, keys: Keys, gen: int) -> int:
    """UNLINK every key of one generation (SCAN, so Redis never blocks for long)."""
    deleted = 0
    batch: list[str] = []
    async for key in redis.scan_iter(match=Layout(keys, gen).prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += await redis.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await redis.unlink(*batch)
    return deleted


async def _replay(redis: Redis, keys: Keys, applier: Applier, after: str) -> tuple[str, int]:
    """Apply every entry after `after` (exclusive); returns the last id and the count."""
    seen = 0
    evictor = Evictor(redis, keys, clock=applier.clock, pinned=True)
    while True:
        start = "-" if after == "0-0" else f"({after}"
        page = await redis.xrange(keys.events, min=start, max="+", count=PAGE)
        if not page:
            return after, seen
        batch: list[Prepared] = []
        for sid, fields in page:
            try:
                entry = {str(k): str(v) for k, v in (fields or {}).items()}
                batch.append(prepare_fields(str(sid), entry))
            except (InvalidEvent, ValueError):
                continue  # the live consumer dead-lettered it
        await applier.apply(batch)
        after = str(page[-1][0])
        seen += len(page)
        if seen % (PAGE * 50) == 0:
            await evictor.run_once(applier.layout.gen)


async def rebuild(
    redis: Redis,
    keys: Keys,
    *,
    retention_ms: int,
    max_future_ms: int,
    clock: Clock | None = None,
) -> int:
    """Build a fresh generation from the stream, swap it in, drop the old; returns it."""
    token = secrets.token_hex(8)
    if not await redis.set(keys.agg_rebuild_lock, token, nx=True, px=LOCK_MS):
        raise RuntimeError(f"another rebuild is running (lock {keys.agg_rebuild_lock})")
    try:
        old = await read_generation(redis, keys)
        new = int(await redis.incr(keys.agg_generation_seq))
        while new <= old:
            new = int(await redis.incr(keys.agg_generation_seq))
        await delete_generation(redis, keys, new)
        applier = Applier(
            redis,
            keys,
            retention_ms=retention_ms,
            max_future_ms=max_future_ms,
            group="",
            clock=clock,
            generation=new,
            late_series=True,
        )
        evictor = Evictor(redis, keys, clock=clock, pinned=True)
        await evictor.run_once(new)
        last, count = await _replay(redis, keys, applier, "0-0")
        await evictor.run_once(new)
        await redis.set(keys.agg_generation, new)
        last, more = await _replay(redis, keys, applier, last)
        await evictor.run_once(new)
        await redis.delete(keys.agg_late_ids(new))
        dropped = await delete_generation(redis, keys, old)
        await backfill_symbol_index(redis, keys)
        logger.info(
            "rebuilt generation %d from %d entries (+%d during the swap); "
            "dropped %d keys of generation %d",
            new,
            count,
            more,
            dropped,
            old,
        )
        return new
    finally:
        if await redis.get(keys.agg_rebuild_lock) == token:
            await redis.delete(keys.agg_rebuild_lock)


async def ensure_layout(
    redis: Redis, keys: Keys, *, retention_ms: int, max_future_ms: int, wait_s: float = 3600.0
) -> bool:
    """Rebuild the live generation if it was written with another layout than
    `LAYOUT_VERSION` (an upgrade); returns whether this call rebuilt it. If another
    process is rebuilding, waits for it (at most `wait_s`)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        gen = await read_generation(redis, keys)
        applied, layout = await redis.hmget(keys.agg_stats(gen), ["applied", "layout"])
        if applied is None or layout == str(LAYOUT_VERSION):
            return False  # nothing applied yet, or applied with this layout
        logger.warning(
            "generation %d was written with another layout; rebuilding it from the stream", gen
        )
        try:
            await rebuild(redis, keys, retention_ms=retention_ms, max_future_ms=max_future_ms)
            return True
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)  # another process is rebuilding: check again after


async def _main(settings: AggregatorSettings) -> int:
    redis = create_redis(settings.redis_url, socket_timeout=60.0, name="liqmon-rebuild")
    try:
        await wait_for_redis(redis)
        await rebuild(
            redis,
            settings.keys,
            retention_ms=settings.retention_ms,
            max_future_ms=settings.aggregator_max_future_ms,
        )
        return 0
    finally:
        await redis.aclose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="liqmon rebuild", description="recompute all derived state from the stream"
    )
    parser.parse_args(argv)
    settings = load_settings(AggregatorSettings)
    configure_logging("rebuild", settings.log_level)
    try:
        return asyncio.run(_main(settings))
    except RuntimeError as exc:
        logger.error("%s", exc)
        return 1
