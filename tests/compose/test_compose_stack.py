"""The whole system under `docker compose` on a real Docker engine, with the demo override
(the exchange simulator as a container): built, healthy, counting every liquidation once
through replicas, a Redis kill and a down/up, and leaving nothing behind.

The tests run in order against one compose project (the `stack` fixture). Exactness is
checked three ways at once: what the simulator says it sent, the distinct event ids in
the stream (redis-cli inside the Redis container) and the 1d count of /api/summary.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.compose.stack import ComposeStack, wait_until

pytestmark = [pytest.mark.compose, pytest.mark.timeout(900)]

#: The simulator sends this many more liquidations before a check, so each step is
#: exercised under load (the demo scenario sends dozens per second).
MORE = 200


def more_traffic(stack: ComposeStack) -> None:
    """Resume the simulator and wait until it has sent MORE liquidations."""
    start = int(stack.sim_get("/_sim/totals")["count"])
    stack.sim_control("resume")
    wait_until(
        f"{MORE} more liquidations", lambda: stack.sim_get("/_sim/totals")["count"] >= start + MORE
    )


def totals(stack: ComposeStack) -> dict[str, object]:
    """The 1d window's counts and USD, overall and per exchange (not its `partial` flag,
    which rightly changes once the collectors are stopped)."""
    day = stack.get("/api/summary")["windows"]["1d"]
    keys = ("long_count", "short_count", "long_usd", "short_usd", "by_exchange")
    return {key: day[key] for key in keys}


def pause_and_check_exact(stack: ComposeStack) -> dict[str, int]:
    stack.sim_control("pause")
    return dict(wait_until("none held, sent == distinct ids == 1d count", stack.exact, timeout=180))


def test_up_builds_one_image_and_every_service_turns_healthy(stack: ComposeStack) -> None:
    stack.compose("up", "--detach", "--build", timeout=900)
    wait_until("every container healthy", stack.all_healthy, timeout=240)
    health = wait_until("health ok, every collector connected", stack.health_ok)
    assert set(stack.venues) <= set(health["collectors"])
    images = {row["Image"] for row in stack.containers() if row["Service"] != "redis"}
    assert images == {"liqmon:compose-test"}
    wait_until("liquidations in /api/summary", lambda: stack.day_count() > 0)
    pause_and_check_exact(stack)


def test_replicas_count_every_liquidation_once(stack: ComposeStack) -> None:
    stack.compose(
        "up", "--detach", "--scale", "collector-binance=2", "--scale", "aggregator=2", timeout=300
    )
    assert len(stack.containers("collector-binance")) == 2
    wait_until("every replica healthy", stack.all_healthy, timeout=180)
    health = wait_until(
        "two aggregator consumers alive",
        lambda: (h := stack.health_ok()) and len(h["aggregator"]["alive"]) == 2 and h,
    )
    binance = health["collectors"]["binance"]
    # each container scores its own `<host>:<pid>` (its healthcheck passed on that): two
    # replicas, both connected (health is ok, so none is named disconnected)
    assert binance["connected"] and (binance["replicas"], binance["replicas_connected"]) == (2, 2)
    more_traffic(stack)
    counts = pause_and_check_exact(stack)
    # the stream may carry a liquidation twice (both binance replicas append it) or once
    # (when repeats are refused at append); either way it is counted once
    assert counts["entries"] >= counts["distinct"]


def test_a_killed_redis_loses_nothing(stack: ComposeStack) -> None:
    stack.sim_control("resume")
    (redis,) = stack.containers("redis")
    subprocess.run(["docker", "kill", redis["ID"]], check=True, capture_output=True)
    wait_until("health reports redis down", lambda: stack.get("/api/health")["status"] == "down")
    stack.compose("start", "redis")
    wait_until("every container healthy again", stack.all_healthy, timeout=180)
    wait_until("health ok again", stack.health_ok)
    more_traffic(stack)
    pause_and_check_exact(stack)


def test_down_then_up_keeps_the_totals(stack: ComposeStack) -> None:
    before = pause_and_check_exact(stack)
    day = totals(stack)
    stack.compose("down", "--timeout", "20")
    assert stack.containers() == []
    # only Redis (from its volume), the aggregator and the web: nothing new arrives
    stack.compose("up", "--detach", "web", "aggregator")
    wait_until("the web answers", lambda: stack.get("/api/health")["redis"]["ok"])
    assert stack.stream_ids()[0] == before["distinct"]
    wait_until("the same 1d totals", lambda: totals(stack) == day)
    assert day["long_count"] + day["short_count"] == before["counted"]


def test_down_with_volumes_leaves_nothing_behind(stack: ComposeStack) -> None:
    stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "20")
    label = f"label=com.docker.compose.project={stack.project}"
    for kind in (["ps", "--all"], ["network", "ls"], ["volume", "ls"]):
        listed = subprocess.run(
            ["docker", *kind, "--quiet", "--filter", label],
            check=True,
            capture_output=True,
            text=True,
        )
        assert listed.stdout.strip() == "", f"docker {' '.join(kind)} still lists {listed.stdout}"
