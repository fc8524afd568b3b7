"""`python -m liqmon.healthcheck <service>`: the container healthcheck (exit 0 = healthy).

- web: `GET /api/health` on the local port answers 200.
- collectors: their status hash in Redis was refreshed recently (it expires otherwise).
- aggregator, alerter: a consumer heartbeat in its consumers sorted set is recent.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import urllib.request

from liqmon.redis_client import create_redis
from liqmon.settings import CommonSettings, load_settings

FRESH_MS = 30_000


def _web_ok() -> bool:
    port = os.environ.get("LIQMON_WEB_PORT", "8000")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=4) as resp:
        return bool(resp.status == 200)


async def _redis_ok(service: str) -> bool:
    settings = load_settings(CommonSettings)
    redis = create_redis(settings.redis_url, socket_timeout=3)
    try:
        now = time.time_ns() // 1_000_000
        if service.startswith("collector-"):
            updated = await redis.hget(settings.keys.collector_status(service[10:]), "updated")
            return updated is not None and now - int(updated) < FRESH_MS
        if service in ("aggregator", "alerter"):
            k = settings.keys
            beats = k.aggregator_consumers if service == "aggregator" else k.alerter_consumers
            fresh = await redis.zrangebyscore(beats, now - FRESH_MS, "+inf", start=0, num=1)
            return bool(fresh)
        return bool(await redis.ping())
    finally:
        await redis.aclose()


def main(argv: list[str]) -> int:
    service = argv[0] if argv else "web"
    try:
        ok = _web_ok() if service == "web" else asyncio.run(_redis_ok(service))
    except Exception as exc:  # any failure means unhealthy; say why for `docker inspect`
        sys.stderr.write(f"unhealthy: {exc}\n")
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
