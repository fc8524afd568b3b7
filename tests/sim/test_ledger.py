"""The ledger against what a plain client actually received: finite runs, USD, faults."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from liqmon_sim.faults import MALFORMED_KINDS
from tests.sim import wire_check
from tests.sim.conftest import http_get, http_post, okx_subscribed, until
from tests.sim.wire_check import Bad, Seen


async def _clients(sim: Any) -> dict[str, ClientConnection]:
    urls = sim.urls
    clients = {
        "binance-usdm": await connect(
            f"{urls['LIQMON_BINANCE_USDM_WS_URL']}/ws/!forceOrder@arr", max_size=None
        ),
        "binance-coinm": await connect(
            f"{urls['LIQMON_BINANCE_COINM_WS_URL']}/stream?streams=!forceOrder@arr", max_size=None
        ),
        "okx": await okx_subscribed(urls["LIQMON_OKX_WS_URL"]),
    }
    await until(
        lambda: all(
            v.has_audience()
            for v in (sim.server(n) for n in ("binance-usdm", "binance-coinm", "okx"))
        )
    )
    return clients


class Readers:
    """Read every client concurrently (a client that stops reading gets cut off)."""

    def __init__(self, clients: dict[str, ClientConnection]) -> None:
        self.clients = clients
        self.frames: dict[str, list[str]] = {venue: [] for venue in clients}
        self.tasks = [asyncio.create_task(self._read(v, ws)) for v, ws in clients.items()]

    async def _read(self, venue: str, ws: ClientConnection) -> None:
        async for message in ws:
            assert isinstance(message, str)
            self.frames[venue].append(message)

    async def finish(self, sim: Any) -> tuple[list[Seen], int]:
        """(liquidations parsed, frames rejected) once the sockets have gone quiet."""
        count = -1
        while count != sum(len(f) for f in self.frames.values()):
            count = sum(len(f) for f in self.frames.values())
            await asyncio.sleep(0.3)
        for ws in self.clients.values():
            await ws.close()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        specs = await wire_check.load_specs(sim.urls)
        seen: list[Seen] = []
        bad = 0
        for venue, frames in self.frames.items():
            for text in frames:
                try:
                    if venue == "okx":
                        seen.extend(wire_check.okx(text, specs))
                    else:
                        seen.append(wire_check.binance(text, venue, specs))
                except Bad:
                    bad += 1
        return seen, bad


async def _burst_and_read(sim: Any, **burst: Any) -> tuple[list[Seen], int]:
    readers = Readers(await _clients(sim))
    result = await sim.control("burst", **burst)
    await sim.wait_done(timeout=20, run=result["run"])
    return await readers.finish(sim)


def _seen_keys(seen: list[Seen]) -> Counter[tuple[str, str, str, int, int]]:
    return Counter((s.venue, s.instrument, s.side, s.ts, s.cents) for s in seen)


def _ledger_keys(sim: Any) -> Counter[tuple[str, str, str, int, int]]:
    return Counter(
        (e.venue, e.instrument, e.side, e.ts, e.cents)
        for e in sim.ledger.entries
        if e.malformed is None
    )


async def test_finite_run_emits_exactly_n_and_the_usd_matches_the_frames(make_sim):
    sim = await make_sim(sim_scenario="demo", sim_total=120, sim_rate=400)
    readers = Readers(await _clients(sim))
    await sim.wait_done(timeout=20)
    seen, bad = await readers.finish(sim)
    assert bad == 0
    assert len(seen) == len(set(seen)) == 120
    totals = sim.ledger.totals
    assert totals.count == 120 and totals.duplicates == totals.malformed == 0
    # the ledger's USD equals an independent recomputation from the frame fields + REST specs
    assert _seen_keys(seen) == _ledger_keys(sim)
    assert sum(s.cents for s in seen) == totals.cents
    for entry in sim.ledger.entries:
        assert entry.usd == f"{entry.cents // 100}.{entry.cents % 100:02d}"
    by_venue = Counter(s.venue for s in seen)
    assert set(by_venue) == {"binance-usdm", "binance-coinm", "okx"}
    stats = (await http_get(f"{sim.urls['LIQMON_OKX_REST_URL']}/_sim/stats")).json()
    assert stats["done"] is True and stats["runs"]["1"]["emitted"] == 120


async def test_stats_say_where_a_run_is_on_its_schedule_and_how_far_behind_it_is(make_sim):
    """`elapsed_s` is t of the run's rate (a bench aligns its window to a scenario's bursts
    with it); `behind_s` grows while the pump cannot meet its rate, and is 0 at a rate it
    meets."""
    sim = await make_sim(sim_scenario="trickle", sim_rate_multiplier=200)
    readers = Readers(await _clients(sim))
    first = sim.stats()["runs"]["1"]
    await until(lambda: sim.stats()["runs"]["1"]["generated"] >= first["generated"] + 20)
    later = sim.stats()["runs"]["1"]
    assert later["elapsed_s"] > first["elapsed_s"] > 0
    assert later["behind_s"] < 2.0  # the scenario's own rate is met (a loaded loop lags)
    await sim.control("rate", multiplier=1_000_000.0)  # no pump meets that
    await until(lambda: sim.stats()["runs"]["1"]["behind_s"] > 0.2)
    await sim.control("pause")  # a paused pump owes nothing: behind_s does not keep growing
    await until(lambda: sim.stats()["runs"]["1"]["behind_s"] == 0.0)
    await readers.finish(sim)


async def test_malformed_fraction_is_honoured_and_each_broken_frame_is_broken(make_sim):
    sim = await make_sim(sim_binance_sampling_ms=0, sim_okx_batch_ms=0)
    seen, bad = await _burst_and_read(sim, n=300, malformed_fraction=0.3)
    totals = sim.ledger.totals
    assert len(seen) == totals.count == 300
    assert bad == totals.malformed, "every frame the ledger calls malformed is rejected, no other"
    share = totals.malformed / (totals.malformed + totals.count)
    assert 0.22 < share < 0.38, share
    kinds = Counter(e.malformed for e in sim.ledger.entries if e.malformed)
    assert set(kinds) == set(MALFORMED_KINDS)
    assert _seen_keys(seen) == _ledger_keys(sim)


async def test_duplicates_are_byte_identical_and_flagged(make_sim):
    sim = await make_sim(sim_binance_sampling_ms=0, sim_okx_batch_ms=0)
    seen, bad = await _burst_and_read(sim, n=150, duplicate_fraction=0.3)
    assert bad == 0
    assert len(set(seen)) == sim.ledger.totals.count == 150
    assert len(seen) - 150 == sim.ledger.totals.duplicates > 10
    originals = {e.seq for e in sim.ledger.entries if e.counted}
    assert all(e.replay_of in originals for e in sim.ledger.entries if e.duplicate)


async def test_the_same_seed_gives_the_same_liquidations(make_sim):
    outcomes = []
    for _ in range(2):
        sim = await make_sim(sim_seed=7, sim_binance_sampling_ms=0)
        readers = Readers(await _clients(sim))
        await sim.control("run", n=80, rate=2000)
        await sim.wait_done(timeout=20)
        await readers.finish(sim)
        outcomes.append(Counter((e.venue, e.instrument, e.side, e.usd) for e in sim.ledger.entries))
    assert outcomes[0] == outcomes[1]
    assert sum(outcomes[0].values()) == 80


async def test_ledger_over_http_jsonl_and_control_errors(make_sim, tmp_path):
    path = tmp_path / "ledger.jsonl"
    sim = await make_sim(sim_ledger_path=path, sim_binance_sampling_ms=0)
    base = sim.urls["LIQMON_BINANCE_COINM_REST_URL"]
    async with await okx_subscribed(sim.urls["LIQMON_OKX_WS_URL"]):
        early = await http_get(f"{base}/_sim/wait", run=1, timeout=0.1)
        assert early.status_code == 400 and "endless" in early.json()["error"]
        reply = await http_post(f"{base}/_sim/control", action="burst", n=25, venue="okx")
        assert reply.status_code == 200, reply.text
        waited = await http_get(f"{base}/_sim/wait", run=reply.json()["run"], timeout=10)
        assert waited.status_code == 200 and waited.json()["emitted"] == 25
        assert waited.json()["done"] is True and sim.ledger.run_totals(2).count == 25
    page = (await http_get(f"{base}/_sim/ledger", since=0, limit=10)).json()
    assert [e["seq"] for e in page["entries"]] == list(range(1, 11)) and page["next"] == 10
    rest = (await http_get(f"{base}/_sim/ledger", since=10, venue="okx")).json()
    assert len(rest["entries"]) == 15 and rest["totals"]["count"] == 25
    first = page["entries"][0]
    assert set(first) >= {
        "venue",
        "instrument",
        "coin",
        "side",
        "usd",
        "ts",
        "duplicate",
        "malformed",
    }
    totals = (await http_get(f"{base}/_sim/totals")).json()
    assert totals == sim.ledger.totals.as_dict() and totals["count"] == 25
    await until(lambda: len(path.read_text().splitlines()) == 25, timeout=5)
    assert json.loads(path.read_text().splitlines()[0])["seq"] == 1

    paused = await http_post(f"{base}/_sim/control", action="pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    assert sim.driver.paused.is_set()
    burst = await http_post(f"{base}/_sim/control", action="burst", n=2, rate="inf", venue="okx")
    assert burst.status_code == 200 and burst.json()["total"] == 2  # n: a number again
    async with httpx.AsyncClient(timeout=5) as client:  # a venue port takes no bodies
        with pytest.raises(httpx.RemoteProtocolError):  # websockets hangs up on one
            await client.post(f"{base}/_sim/control", json={"action": "pause"})
    unknown = await http_post(f"{base}/_sim/control", action="explode")
    assert unknown.status_code == 400 and "unknown action" in unknown.json()["error"]
    bad_venue = await http_post(f"{base}/_sim/control", action="stall", venue="bybit")
    assert bad_venue.status_code == 400 and "venue" in bad_venue.json()["error"]
    bad_n = await http_post(f"{base}/_sim/control", action="burst", n="many")
    assert bad_n.status_code == 400 and "n must be" in bad_n.json()["error"]
    extra = await http_post(f"{base}/_sim/control", action="pause", colour="red")
    assert extra.status_code == 400 and "colour" in extra.json()["error"]
    assert (await http_get(f"{base}/_sim/control")).status_code == 405
    assert (await http_get(f"{base}/_sim/nothing")).status_code == 404


async def test_disconnect_modes_and_storm(make_sim):
    sim = await make_sim()
    url = sim.urls["LIQMON_OKX_WS_URL"]
    for mode, code in (("close", 1001), ("drop", 1006), ("abort", 1006)):
        ws = await okx_subscribed(url)
        assert (await sim.control("disconnect", venue="okx", mode=mode))["dropped"] == 1
        await ws.wait_closed()
        assert ws.close_code == code, mode
    ws = await okx_subscribed(url)
    storm = await sim.control("disconnect", venue="okx", n=3, interval=0.3)
    assert storm["scheduled"] == 3
    closes = 0
    while True:
        await asyncio.wait_for(ws.wait_closed(), 5)
        closes += 1
        if closes == 3:
            break
        ws = await okx_subscribed(url)  # reconnect, like a collector would
    assert sim.server("okx").stats["drops_drop"] == 4  # one single drop above, three in the storm
