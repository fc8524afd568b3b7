"""The one Redis client factory every service uses.

Deliberate choices:
- `protocol=2` pinned so reply shapes are the classic ones whatever the redis-py version;
  `decode_responses` chosen per client, never mixed on one client.
- `socket_timeout` set explicitly. Blocking readers (XREAD/XREADGROUP with BLOCK) get their
  own client whose timeout exceeds the BLOCK time, so a quiet stream is not an error.
- Retries are few and short. Every write liqmon does is idempotent (event ids are
  deduplicated downstream), so a retried command can never count twice.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from liqmon.backoff import Backoff

logger = logging.getLogger(__name__)


def create_redis(
    url: str,
    *,
    decode_responses: bool = True,
    socket_timeout: float | None = 5.0,
    max_connections: int = 32,
    retries: int = 2,
    name: str | None = None,
) -> Redis:
    """Build a client. `BlockingConnectionPool` waits for a free connection instead of
    raising at the pool limit (redis-py 8's default pool raises `MaxConnectionsError`)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=20,
        decode_responses=decode_responses,
        socket_timeout=socket_timeout,
        socket_connect_timeout=5.0,
        health_check_interval=30,
        protocol=2,
        client_name=name,
    )
    client = Redis(
        connection_pool=pool,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    client.auto_close_connection_pool = True  # this client owns the pool: aclose() closes it
    return client


def create_blocking_reader(
    url: str, *, block_ms: int, decode_responses: bool = True, name: str | None = None
) -> Redis:
    """A client for `XREAD(GROUP) … BLOCK block_ms`: its socket timeout exceeds the block."""
    return create_redis(
        url,
        decode_responses=decode_responses,
        socket_timeout=block_ms / 1000 + 5.0,
        max_connections=2,
        name=name,
    )


async def wait_for_redis(client: Redis, *, timeout: float = 30.0) -> None:
    """Ping until Redis answers (retrying with `Backoff`), logging the failures; raise the
    last error once `timeout` seconds have passed."""
    backoff = Backoff(0.1, 2.0, jitter=0.5)
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.ping()
            return
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            delay = backoff.next()
            if time.monotonic() + delay > deadline:
                raise
            if backoff.failures == 1 or backoff.failures % 10 == 0:
                logger.warning("redis not reachable (%s); retrying", exc)
            await asyncio.sleep(delay)
