"""Control actions: fault injection and run control, in-process or over HTTP.

`await sim.control(action, **params)` and `POST /_sim/control?action=…&…` (liqmon_sim.api)
take the same names. Every action returns a JSON-able dict; bad parameters raise
`ControlError` (HTTP 400 with a message naming the parameter). `venue` is one of
binance-usdm, binance-coinm, okx, bybit-linear, bybit-inverse, or omitted/"all" for every
venue. Bybit's two venues share one server: a disconnect/stall/rest_errors on either acts
on both.

    disconnect  venue, mode=drop|close|abort, n=1 (times), interval=1.0 (s, between times)
    stall       venue, seconds=None (auto-resume after)   sockets open, no pings/pongs/data
    resume      venue                          un-stall and un-pause
    pause       —                              stop generating liquidations
    run         n, rate=None (scenario's), venue → new main finite run of n; returns run id
    burst       n, rate=inf, venue, instrument, malformed_fraction, duplicate_fraction
                                               → extra finite batch beside the main run
    malformed   n=1, venue, kind               send n broken frames now
    duplicate   n=1, venue                     re-send n earlier liquidations now
    faults      any Faults field=value         change the fault knobs from now on
    rate        multiplier                     scale the scenario's rate
    sampling    ms                             Binance sampling period (0 = push everything)
    notice      delay=(config, real: 30 s)     OKX 64008 notice, then close after delay
    list        instrument, price, ct_val, rest_delay=0, weight=0, emit=0
                                               list a new OKX SWAP (REST shows it after
                                               rest_delay s); emit n liquidations on it now
    rest_errors venue, n=1, status=503         the next n REST calls answer `status`
"""

from __future__ import annotations

import asyncio
import math
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, cast

from liqmon_sim.catalog import Venue
from liqmon_sim.faults import MALFORMED_KINDS
from liqmon_sim.venues.base import DROP_MODES, DropMode, now_ms
from liqmon_sim.venues.binance import BinanceServer
from liqmon_sim.venues.okx import OkxServer
from liqmon_sim.venues.plugin import sim_venues

if TYPE_CHECKING:
    from liqmon_sim.simulator import ExchangeSimulator


class ControlError(ValueError):
    """A control request that cannot be carried out (-> HTTP 400)."""


def _venues(params: dict[str, Any]) -> tuple[Venue, ...]:
    venue = params.pop("venue", None)
    known = sim_venues()
    if venue in (None, "", "all"):
        return known
    if venue not in known:
        raise ControlError(f"venue must be one of {', '.join(known)} or all, got {venue!r}")
    return (cast(Venue, venue),)


def _number(
    params: dict[str, Any], name: str, default: float | None, minimum: float = 0.0
) -> float | None:
    raw = params.pop(name, None)
    if raw is None:
        return default
    if raw == "inf":
        return math.inf
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ControlError(f"{name} must be a number, got {raw!r}") from None
    if math.isnan(value) or value < minimum:
        raise ControlError(f"{name} must be >= {minimum}, got {raw!r}")
    return value


def _count(params: dict[str, Any], name: str = "n", default: int | None = 1) -> int:
    value = _number(params, name, default, minimum=1)
    if value is None:
        raise ControlError(f"{name} is required")
    if math.isinf(value) or value != int(value):
        raise ControlError(f"{name} must be a whole number")
    return int(value)


def _no_leftovers(action: str, params: dict[str, Any]) -> None:
    if params:
        raise ControlError(f"unknown parameter(s) for {action}: {', '.join(sorted(params))}")


async def apply(sim: ExchangeSimulator, action: str, params: dict[str, Any]) -> dict[str, Any]:
    params = dict(params)
    handler = _ACTIONS.get(action)
    if handler is None:
        raise ControlError(f"unknown action {action!r}; known: {', '.join(sorted(_ACTIONS))}")
    result = await handler(sim, params)
    _no_leftovers(action, params)
    return {"action": action, **result}


async def _disconnect(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    venues = _venues(p)
    mode = p.pop("mode", "drop")
    if mode not in DROP_MODES:
        raise ControlError(f"mode must be one of {', '.join(DROP_MODES)}, got {mode!r}")
    times = _count(p)
    interval = _number(p, "interval", 1.0) or 0.0

    async def storm() -> int:
        dropped = 0
        for i in range(times):
            if i:
                await asyncio.sleep(interval)
            for v in venues:
                dropped += await sim.venues[v].drop_all(cast(DropMode, mode))
        return dropped

    if times == 1:
        return {"dropped": await storm()}
    sim.spawn(storm(), "sim.disconnect-storm")
    return {"scheduled": times, "interval": interval}


async def _stall(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    venues = _venues(p)
    seconds = _number(p, "seconds", None)
    stalled = sum(sim.venues[v].stall_all() for v in venues)
    if seconds is not None:

        async def later() -> None:
            await asyncio.sleep(seconds)
            for v in venues:
                sim.venues[v].resume_all()

        sim.spawn(later(), "sim.stall-resume")
    return {"stalled": stalled}


async def _resume(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    venues = _venues(p)
    sim.driver.paused.clear()
    return {"resumed": sum(sim.venues[v].resume_all() for v in venues)}


async def _pause(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    del p
    sim.driver.paused.set()
    return {"paused": True}


async def _run(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    n = _count(p, default=None)
    rate = _number(p, "rate", None)
    run = sim.driver.start_main(n, rate)
    return {"run": run.id, "total": n}


async def _burst(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    n = _count(p, default=None)
    rate = _number(p, "rate", math.inf) or math.inf
    venues = _venues(p)
    instrument = None
    if "instrument" in p:
        name = p.pop("instrument")
        found = [sim.catalog.get(v, str(name)) for v in venues]
        instrument = next((i for i in found if i is not None), None)
        if instrument is None:
            raise ControlError(f"instrument {name!r} is not listed on {', '.join(venues)}")
    knobs = {
        k: p.pop(k)
        for k in list(p)
        if k in ("malformed_fraction", "duplicate_fraction", "malformed_kinds")
    }
    try:
        faults = sim.driver.faults.updated(knobs) if knobs else None
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    if (faults or sim.driver.faults).malformed_fraction >= 1.0:
        raise ControlError("malformed_fraction must be < 1 for a finite batch to finish")
    run = sim.driver.start_burst(n, rate, venues, instrument, faults)
    return {"run": run.id, "total": n}


async def _malformed(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    n = _count(p)
    venues = _venues(p)
    kind = p.pop("kind", None)
    if kind is not None and kind not in MALFORMED_KINDS:
        raise ControlError(f"kind must be one of {', '.join(MALFORMED_KINDS)}, got {kind!r}")
    sent = sim.send_malformed(n, venues, kind)
    return {"sent": sent}


async def _duplicate(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    n = _count(p)
    venues = _venues(p)
    run = sim.driver.main.id if sim.driver.main else 0
    sent = 0
    for i in range(n):
        server = sim.venues[venues[i % len(venues)]]
        sent += server.resend(sim.driver.fault_rng, run)
    return {"sent": sent}


async def _faults(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    changes = dict(p)
    p.clear()
    try:
        sim.set_faults(sim.driver.faults.updated(changes))
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    return {"faults": sim.driver.faults.as_dict()}


async def _rate(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    value = _number(p, "multiplier", None)
    if value is None:
        raise ControlError("multiplier is required")
    sim.driver.rate_multiplier = value
    return {"multiplier": value}


async def _sampling(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    value = _number(p, "ms", None)
    if value is None or math.isinf(value):
        raise ControlError("ms is required (0 disables sampling)")
    for server in sim.servers:
        if isinstance(server, BinanceServer):  # the two products share their options
            server.options.sampling_ms = int(value)
    return {"ms": int(value)}


async def _notice(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    okx = sim.server("okx")
    assert isinstance(okx, OkxServer)
    delay = _number(p, "delay", okx.options.notice_delay) or 0.0
    count = len([c for c in okx.conns if c.live])
    sim.spawn(okx.notice_all(delay), "sim.okx-notice")
    return {"noticed": count, "close_after": delay}


async def _list(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    name = p.pop("instrument", None)
    if not isinstance(name, str):
        raise ControlError("instrument is required, e.g. NEWCOIN-USDT-SWAP")
    price = _number(p, "price", None)
    if price is None or price <= 0 or math.isinf(price):
        raise ControlError("price is required and must be > 0")
    raw_ct = p.pop("ct_val", None)
    try:
        ct_val = Decimal(str(raw_ct)) if raw_ct is not None else None
    except InvalidOperation:
        raise ControlError(f"ct_val must be a decimal, got {raw_ct!r}") from None
    if ct_val is not None and (not ct_val.is_finite() or ct_val <= 0):
        raise ControlError("ct_val must be > 0")
    delay = _number(p, "rest_delay", 0.0) or 0.0
    weight = _number(p, "weight", 0.0) or 0.0
    emit = int(_number(p, "emit", 0.0) or 0)
    if sim.catalog.get("okx", name) is not None:
        raise ControlError(f"instrument {name!r} is already listed")
    try:
        inst = sim.catalog.list_okx(name, price, ct_val, weight, now_ms() + int(delay * 1000))
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    result: dict[str, Any] = {
        "instrument": inst.inst_id,
        "ct_val": str(inst.contract_size),
        "ct_type": inst.ct_type,
    }
    if emit:
        result["run"] = sim.driver.start_burst(emit, math.inf, ("okx",), inst).id
    return result


async def _rest_errors(sim: ExchangeSimulator, p: dict[str, Any]) -> dict[str, Any]:
    venues = _venues(p)
    n = _count(p)
    status = int(_number(p, "status", 503) or 503)
    if not 400 <= status <= 599:
        raise ControlError("status must be a 4xx or 5xx code")
    for v in venues:
        sim.venues[v].fail_rest(n, status)
    return {"failing": n, "status": status}


_ACTIONS = {
    "disconnect": _disconnect,
    "stall": _stall,
    "resume": _resume,
    "pause": _pause,
    "run": _run,
    "burst": _burst,
    "malformed": _malformed,
    "duplicate": _duplicate,
    "faults": _faults,
    "rate": _rate,
    "sampling": _sampling,
    "notice": _notice,
    "list": _list,
    "rest_errors": _rest_errors,
}
