"""`python -m liqmon.healthcheck [service]`: the container healthcheck (exit 0 = healthy).

Without an argument it checks what this container runs: the service(s) named after `run`
in PID 1's command line (`liqmon run <service>`), so the image declares one HEALTHCHECK
for every service. Each check asks whether *this* replica works, not the whole system:

- web: `GET /api/health` on its own port answers 200 (it does even when Redis is down:
  the process is alive and reports the outage in the body).
- collector-<venue>: a collector of that venue on this host published its status in the
  last 30 s (it does every few seconds while it runs, connected or not): a fresh member
  `<host>:<pid>` in the venue's replicas set. Replicas share the status hash itself, so a
  replica that hangs turns unhealthy even while another keeps the hash fresh.
- aggregator: a consumer heartbeat of the last 30 s was written from this host. The
  aggregator's token starts with its host name (`liqmon_aggregator.service`), which in a
  container is the container's own, so a replica that hangs turns unhealthy even while
  another replica keeps beating.
- collectors grouped in one process (`liqmon run collectors`, `liqmon run collector-a
  collector-b`): every venue it runs, as above.
- exchange-sim: every simulator port answers `GET /_sim/scenarios` with 200 (a static
  page: the port serves, whatever state the venues are in).
- alerter: an alerter heartbeat of the last 30 s (any replica).
- anything else: Redis answers PING.

The web's and the simulator's settings are imported lazily, only in their own containers.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

from redis.asyncio import Redis

from liqmon.keys import Keys, replica_host
from liqmon.redis_client import create_redis
from liqmon.settings import CommonSettings, load_settings
from liqmon.venues import from_service, parse_venue_list

#: A heartbeat or status older than this means the process stopped working.
FRESH_MS = 30_000
HTTP_TIMEOUT_S = 4.0


def running_services(cmdline: bytes) -> list[str]:
    """The services a NUL-separated command line `… run <service> [args]` runs: one, or
    every venue's collector of a grouped collectors process; [] when it runs none."""
    args = [arg.decode(errors="replace") for arg in cmdline.split(b"\0") if arg]
    if "run" not in args[:-1]:
        return []
    service, *rest = args[args.index("run") + 1 :]
    if service == "collectors":
        text = ",".join(rest) or os.environ.get("LIQMON_COLLECTORS", "")
        return [venue.service for venue in parse_venue_list(text)]
    if from_service(service) and rest and all(from_service(arg) for arg in rest):
        return [service, *rest]
    return [service]


def _http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as resp:
        return bool(resp.status == 200)


def web_ok() -> bool:
    from liqmon_web.settings import WebSettings

    return _http_ok(f"http://127.0.0.1:{load_settings(WebSettings).web_port}/api/health")


def simulator_ok() -> bool:
    from liqmon_sim.settings import SimSettings

    ports = load_settings(SimSettings).with_default_ports().sim_ports
    listening = [port for port in ports.values() if port]  # 0: that server is off
    urls = [f"http://127.0.0.1:{port}/_sim/scenarios" for port in listening]
    return bool(urls) and all(_http_ok(url) for url in urls)


async def collector_alive_here(
    redis: Redis, keys: Keys, venue: str, host: str, now_ms: int
) -> bool:
    """Whether a collector of `venue` on `host` published its status in the last 30 s."""
    fresh = await redis.zrangebyscore(keys.collector_replicas(venue), now_ms - FRESH_MS, "+inf")
    return any(replica_host(str(member)) == host for member in fresh)


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
            here = socket.gethostname()
            return await collector_alive_here(redis, settings.keys, service[10:], here, now_ms)
        if service == "aggregator":
            return await aggregator_alive_here(redis, settings.keys, socket.gethostname(), now_ms)
        if service == "alerter":  # any alerter replica's heartbeat (they share one queue)
            beats = settings.keys.alerter_consumers
            return bool(await redis.zrangebyscore(beats, now_ms - FRESH_MS, "+inf", start=0, num=1))
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
    services = argv or running_services(Path("/proc/1/cmdline").read_bytes())
    if not services:
        sys.stderr.write("unhealthy: no service given and PID 1 is not `liqmon run <service>`\n")
        return 1
    for service in services:
        try:
            ok = check(service)
        except Exception as exc:  # any failure means unhealthy; say why for `docker inspect`
            sys.stderr.write(f"unhealthy: {service}: {exc}\n")
            return 1
        if not ok:
            sys.stderr.write(f"unhealthy: {service}: no fresh sign of life\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
