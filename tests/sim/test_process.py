"""`liqmon run exchange-sim` as a real subprocess, driven over HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx

from liqmon_sim.venues.plugin import demo_environment, free_ports
from tests.procs import running
from tests.sim.conftest import okx_subscribed, recv_n


async def _wait_stats(base: str, timeout: float = 20.0) -> dict:
    async with httpx.AsyncClient(timeout=2) as client:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                reply = await client.get(f"{base}/_sim/stats")
                if reply.status_code == 200:
                    return reply.json()
            except httpx.TransportError:
                pass
            assert loop.time() < deadline, "exchange-sim did not answer /_sim/stats"
            await asyncio.sleep(0.1)


async def test_liqmon_run_exchange_sim_answers_stats_and_control(service_env, tmp_path):
    ports = free_ports()
    okx = ports["okx"]
    env = dict(service_env)
    env.update(
        demo_environment("127.0.0.1", ports),
        LIQMON_SIM_SCENARIO="quiet",
        LIQMON_SIM_OKX_BATCH_MS="0",
        LIQMON_SIM_LEDGER_PATH=str(tmp_path / "ledger.jsonl"),
    )
    with running("exchange-sim", env, tmp_path) as proc:
        base = f"http://127.0.0.1:{okx}"
        stats = await _wait_stats(base)
        assert stats["scenario"] == "quiet" and stats["venues"]["okx"]["port"] == okx
        assert stats["urls"]["LIQMON_OKX_WS_URL"] == f"ws://127.0.0.1:{okx}/ws/v5/public"
        ws = await okx_subscribed(f"ws://127.0.0.1:{okx}/ws/v5/public")
        async with ws, httpx.AsyncClient(timeout=5) as client:
            reply = await client.post(
                f"{base}/_sim/control", params={"action": "burst", "n": 5, "venue": "okx"}
            )
            assert reply.status_code == 200, reply.text
            pushes = [json.loads(m) for m in await recv_n(ws, 5)]
            assert {p["arg"]["channel"] for p in pushes} == {"liquidation-orders"}
            ledger = (
                await client.get(f"http://127.0.0.1:{ports['binance-usdm']}/_sim/ledger")
            ).json()
            assert ledger["totals"]["count"] == 5 and len(ledger["entries"]) == 5
        assert proc.alive()
        assert proc.stop() == 0
    assert len((tmp_path / "ledger.jsonl").read_text().splitlines()) == 5


async def test_bad_configuration_exits_with_a_message(service_env, tmp_path):
    env = dict(service_env, LIQMON_SIM_SCENARIO="nonsense")
    with running("exchange-sim", env, tmp_path) as proc:
        assert proc.proc is not None
        code = await asyncio.to_thread(proc.proc.wait, 20)
        assert code == 2 and "unknown scenario" in proc.log()
