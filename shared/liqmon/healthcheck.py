"""`python -m liqmon.healthcheck [service]`: the container healthcheck (exit 0 = healthy).

Without an argument it checks the service this container runs: the one named after `run`
in PID 1's command line (`liqmon run <service>`), so the image declares one HEALTHCHECK
for every service. Each check asks whether *this* replica works, not the whole system:

- web: `GET /api/health` on its own port answers 200 (it does even when Redis is down:
  the process is alive and reports the outage in the body).
- collector-<venue>: the venue's status hash in Redis was refreshed in the last 30 s (the
  collector refreshes it every few seconds while it runs, connected or not).
- aggregator: a consumer heartbeat of the last 30 s was written from this host. The
  aggregator's token starts with its host name (`liqmon_aggregator.service`), which in a
  container is the container's own, so a replica that hangs turns unhealthy even while
  another replica keeps beating.
- exchange-sim: every simulator port answers `GET /_sim/stats` with 200.
- anything else: Redis answers PING.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
import urllib.request
from pathlib import Path

from redis.asyncio import Redis

from liqmon.keys import Keys
from liqmon.redis_client import create_redis
from liqmon.settings import CommonSettings, load_settings

#: A heartbeat or status older than this means the process stopped working.
FRESH_MS = 30_000
HTTP_TIMEOUT_S = 4.0


def running_service(cmdline: bytes) -> str | None:
    """The service in a NUL-separated command line `… run <service> …`, if any."""
    args = [arg.decode(errors="replace") for arg in cmdline.split(b"\0") if arg]
    for i, arg in enumerate(args[:-1]):
        if arg == "run":
            return args[i + 1]
    return None


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
        return bool(resp.status == 200)


def web_ok() -> bool:
    from liqmon_web.settings import WebSettings

    return _http_ok(f"http://127.0.0.1:{load_settings(WebSettings).web_port}/api/health")


def simulator_ok() -> bool:
    from liqmon_sim.settings import SimSettings

    settings = load_settings(SimSettings)
    ports = [
        value
        for name, value in settings.model_dump().items()
        if name.startswith("sim_") and name.endswith("_port") and value
    ]
    return bool(ports) and all(_http_ok(f"http://127.0.0.1:{p}/_sim/stats") for p in ports)


async def collector_fresh(redis: Redis, keys: Keys, venue: str, now_ms: int) -> bool:
    updated = await redis.hget(keys.collector_status(venue), "updated")
    return updated is not None and now_ms - int(updated) < FRESH_MS


async def aggregator_alive_here(redis: Redis, keys: Keys, host: str, now_ms: int) -> bool:
    """Whether a consumer with a fresh heartbeat runs on `host` (its token's first part)."""
    fresh = await redis.zrangebyscore(keys.aggregator_consumers, now_ms - FRESH_MS, "+inf")
    if not fresh:
        return False
    pipe = redis.pipeline(transaction=False)
    for name in fresh:
        pipe.hget(keys.aggregator_status(str(name)), "token")
    tokens = await pipe.execute()
    return any(str(token).partition(":")[0] == host for token in tokens if token)


async def redis_check(service: str) -> bool:
    settings = load_settings(CommonSettings)
    redis = create_redis(settings.redis_url, socket_timeout=3)
    now_ms = time.time_ns() // 1_000_000
    try:
        if service.startswith("collector-"):
            return await collector_fresh(redis, settings.keys, service[10:], now_ms)
        if service == "aggregator":
            return await aggregator_alive_here(redis, settings.keys, socket.gethostname(), now_ms)
        return bool(await redis.ping())
    finally:
        await redis.aclose()


def check(service: str) -> bool:
    if service == "web":
        return web_ok()
    if service == "exchange-sim":
        return simulator_ok()
    return asyncio.run(redis_check(service))


def main(argv: list[str]) -> int:
    service = argv[0] if argv else running_service(Path("/proc/1/cmdline").read_bytes())
    if not service:
        sys.stderr.write("unhealthy: no service given and PID 1 is not `liqmon run <service>`\n")
        return 1
    try:
        ok = check(service)
    except Exception as exc:  # any failure means unhealthy; say why for `docker inspect`
        sys.stderr.write(f"unhealthy: {service}: {exc}\n")
        return 1
    if not ok:
        sys.stderr.write(
            f"unhealthy: {service}: no fresh sign of life (see the module docstring)\n"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
