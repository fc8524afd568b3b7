"""Gate futures WebSocket v4 (`futures.public_liquidates`, USDT-settled) and its REST API.

One server, one port: the WebSocket at `/v4/ws/usdt`; REST `GET /api/v4/futures/usdt/contracts`
(`quanto_multiplier` per contract) and `GET /api/v4/futures/usdt/liq_orders` (the public
liquidation history: `time` s, `contract`, `size` = the position, positive long, `order_size`
= the liquidation order closing it, `order_price`, `fill_price`, `left`).

- Subscribe `{"time","channel":"futures.public_liquidates","event":"subscribe","payload":
  ["!all"]}` (or contract names) is answered `{"time","time_ms","channel","event":
  "subscribe","result":{"status":"success"}}`; an unknown contract or channel gets the error
  envelope (`"error":{"code":2,…}`, `"result":{"status":"fail"}`). `futures.ping` gets
  `futures.pong`. The server sends protocol pings every `ping_interval` and drops a client
  that does not answer within `pong_timeout`.
- Sampling: at most one liquidation per contract per second, pushed on each
  `sampling_ms` boundary (0: at once); a liquidation replaced in its slot is recorded as
  suppressed, never emitted (like Binance).
- Both frame shapes: `shape` "live" (`result` an object, element `time` in ms, `price` a
  string, `size` an integer), "doc" (`result` an array, `time_ms`, `price` a number, `size`
  a string) or "mixed" (alternating). With the `X-Gate-Size-Decimal: 1` handshake header
  sizes are decimal strings in both shapes.
- Side: `side_convention` says what the sign of `size` means. "order" (what liqmon reads
  first): the liquidation order's size, negative = a forced sell = a long liquidated;
  "position": the liquidated position's size, negative = a short. The REST history is the
  same under both (it carries both numbers), so a collector can tell which one is in force.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from liqmon_sim.catalog import Coin, Instrument, Venue, decimals, pow10, tick_for
from liqmon_sim.frames import dumps_numbers as dumps
from liqmon_sim.frames import plain
from liqmon_sim.ledger import Ledger
from liqmon_sim.malformed import NON_ASCII, OVERSIZE_BYTES
from liqmon_sim.market import Liquidation
from liqmon_sim.venues.base import Conn, VenueServer, now_ms
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls
from liqmon_sim.venues.sampling import SampledServer

VENUE: Final = "gate-usdt"
WS_PATH: Final = "/v4/ws/usdt"
CHANNEL: Final = "futures.public_liquidates"
CONTRACTS: Final = "/api/v4/futures/usdt/contracts"
LIQ_ORDERS: Final = "/api/v4/futures/usdt/liq_orders"
HISTORY: Final = 20_000  # liquidations the REST history keeps
Convention = Literal["order", "position"]


@dataclass
class GateOptions:
    sampling_ms: int = 1000
    shape: Literal["live", "doc", "mixed"] = "mixed"
    side_convention: Convention = "order"
    ping_interval: float = 10.0
    pong_timeout: float = 10.0


def signed_size(liq: Liquidation, convention: Convention) -> Decimal:
    """The pushed `size`: under "order" a long's forced sell is negative; under "position"
    the long position's size is positive."""
    long_sign = -1 if convention == "order" else 1
    return liq.qty * (long_sign if liq.side == "long" else -long_sign)


def element(
    liq: Liquidation, convention: Convention, doc: bool, decimal_sizes: bool
) -> dict[str, Any]:
    size = signed_size(liq, convention)
    inst = liq.inst
    if doc:  # the documented shape's element: price a number, size a string, time_ms
        return {
            "price": liq.price,
            "size": plain(size),
            "time_ms": liq.ts,
            "contract": inst.inst_id,
        }
    price = f"{liq.price:.{inst.price_decimals}f}"
    return {
        "contract": inst.inst_id,
        "price": price,
        "time": liq.ts,
        "size": plain(size) if decimal_sizes else int(size),
    }


def update(elements: list[dict[str, Any]], doc: bool, push_ms: int) -> dict[str, Any]:
    return {
        "time": push_ms // 1000,
        "time_ms": push_ms,
        "channel": CHANNEL,
        "event": "update",
        "result": elements if doc else elements[0],
    }


def envelope(channel: str, event: str, result: Any, **extra: Any) -> bytes:
    now = now_ms()
    return dumps(
        {"time": now // 1000, "time_ms": now, "channel": channel, "event": event, **extra,
         "result": result}
    )  # fmt: skip


class GateConn(Conn):
    def __init__(self, ws: ServerConnection, decimal_sizes: bool) -> None:
        super().__init__(ws)
        self.decimal_sizes = decimal_sizes
        self.everything = False
        self.contracts: set[str] = set()

    def wants(self, contract: str) -> bool:
        return self.everything or contract in self.contracts


class GateServer(SampledServer):
    name = "gate"
    venue: Venue = VENUE

    def __init__(self, ledger: Ledger, catalog: Any, options: GateOptions) -> None:
        super().__init__(ledger)
        self.catalog = catalog
        self.options = options
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._pushes = 0

    def route(self, path: str) -> bool:
        return path.split("?", 1)[0] == WS_PATH

    # --- REST -----------------------------------------------------------------------

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if path == CONTRACTS:
            listed = sorted(self.catalog.rest_visible(VENUE, now_ms()), key=lambda i: i.inst_id)
            return 200, [contract(i) for i in listed]
        if path != LIQ_ORDERS:
            return None
        try:
            start = int(query.get("from", ["0"])[0] or 0)
            end = int(query.get("to", [str(now_ms() // 1000)])[0] or 0)
            limit = int(query.get("limit", ["100"])[0] or 100)
        except ValueError:
            return 400, {"label": "INVALID_PARAM_VALUE", "message": "from/to/limit"}
        if end - start > 3600 or not 1 <= limit <= 1000:
            return 400, {"label": "INVALID_PARAM_VALUE", "message": "to - from > 3600 or limit"}
        name = query.get("contract", [""])[0]
        rows = [
            r
            for r in reversed(self.history)
            if start <= r["time"] <= end and (not name or r["contract"] == name)
        ]
        return 200, orjson.loads(dumps(rows[:limit]))

    def rest_error(self, status: int) -> Any:
        if status == 429:
            return {"label": "TOO_MANY_REQUESTS", "message": "Request Rate limit Exceeded"}
        return {"label": "SERVER_ERROR", "message": "Internal server error"}

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        headers = ws.request.headers if ws.request else {}
        conn = GateConn(ws, headers.get("X-Gate-Size-Decimal") == "1")
        await self._serve(conn, self._answer, watch=self._pinger(conn))

    async def _pinger(self, conn: GateConn) -> None:
        opt = self.options
        while conn.open:
            await asyncio.sleep(opt.ping_interval)
            if conn.stalled:
                continue
            try:
                waiter = await conn.ws.ping()
                await asyncio.wait_for(waiter, opt.pong_timeout)
            except TimeoutError:
                self.stats["ping_timeouts"] += 1
                await conn.drop("close", 1008, "ping timeout")
                return
            except ConnectionClosed:
                return

    def _answer(self, conn: GateConn, message: str | bytes) -> bytes:
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict):
            return _error("", "", 1, "invalid argument struct")
        channel, event = request.get("channel"), request.get("event")
        if channel == "futures.ping":
            self.stats["app_pings"] += 1
            return envelope("futures.pong", "", None)
        if channel != CHANNEL or event not in ("subscribe", "unsubscribe"):
            return _error(str(channel), str(event), 2, f"unknown channel {channel!r:.40}")
        payload = request.get("payload")
        if not isinstance(payload, list) or not all(isinstance(p, str) for p in payload):
            return _error(CHANNEL, event, 2, "payload must be a list of contracts")
        unknown = [p for p in payload if p != "!all" and self.catalog.get(VENUE, p) is None]
        if event == "subscribe" and unknown:
            return _error(CHANNEL, event, 2, f"unknown contract {unknown[0]}")
        if event == "subscribe":
            conn.everything = conn.everything or "!all" in payload
            conn.contracts.update(p for p in payload if p != "!all")
        else:
            conn.everything = conn.everything and "!all" not in payload
            conn.contracts.difference_update(payload)
        self._changed()
        return envelope(CHANNEL, event, {"status": "success"})

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(
            isinstance(c, GateConn) and c.live and (c.everything or c.contracts) for c in self.conns
        )

    def sampling_ms(self) -> int:
        return self.options.sampling_ms

    def submit(self, liq: Liquidation) -> None:
        self.history.append(history_row(liq))  # the history lists every liquidation
        super().submit(liq)

    def _doc_shape(self) -> bool:
        self._pushes += 1
        shape = self.options.shape
        return shape == "doc" or (shape == "mixed" and self._pushes % 2 == 0)

    def _push(self, liq: Liquidation, push_ms: int) -> None:
        doc, now = self._doc_shape(), now_ms()
        frames: dict[bool, bytes] = {}
        clients = 0
        for conn in self.conns:
            if isinstance(conn, GateConn) and conn.wants(liq.inst.inst_id):
                raw = frames.get(conn.decimal_sizes)
                if raw is None:
                    body = element(liq, self.options.side_convention, doc, conn.decimal_sizes)
                    raw = frames[conn.decimal_sizes] = dumps(update([body], doc, push_ms))
                clients += conn.send(raw, now)
        seq = self._emitted(liq, clients, now)
        if seq:
            self._remember(liq, seq, None)

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        clients = 0
        for conn in self.conns:
            if isinstance(conn, GateConn) and conn.wants(liq.inst.inst_id):
                body = element(liq, self.options.side_convention, False, conn.decimal_sizes)
                clients += conn.send(dumps(update([body], False, now_ms)), now_ms)
        return clients

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        now = now_ms()
        body = element(liq, self.options.side_convention, False, True)
        payload, label = malformed(rng, body, kind, now)
        clients = 0
        for conn in self.conns:
            if isinstance(conn, GateConn) and conn.wants(liq.inst.inst_id):
                clients += conn.send(payload, now)
        self._malformed_emitted(VENUE, label, kind, liq, clients, now)


def _error(channel: str, event: str, code: int, message: str) -> bytes:
    return envelope(channel, event, {"status": "fail"}, error={"code": code, "message": message})


def contract(inst: Instrument) -> dict[str, Any]:
    """One `/futures/usdt/contracts` entry (the fields a client reads, real key names)."""
    return {
        "name": inst.inst_id,
        "type": "direct",
        "quanto_multiplier": plain(inst.contract_size),
        "order_price_round": plain(inst.tick),
        "order_size_min": 1,
        "in_delisting": False,
        "leverage_max": "100",
    }


def history_row(liq: Liquidation) -> dict[str, Any]:
    """The REST history's row: `size` is the position (long positive), `order_size` the
    order that closed it - the same whichever convention the WebSocket uses."""
    position = liq.qty if liq.side == "long" else -liq.qty
    return {
        "time": liq.ts // 1000,
        "contract": liq.inst.inst_id,
        "size": plain(position),
        "order_size": plain(-position),
        "order_price": f"{liq.price:.{liq.inst.price_decimals}f}",
        "fill_price": f"{liq.price:.{liq.inst.price_decimals}f}",
        "left": "0",
    }


def malformed(
    rng: random.Random, body: dict[str, Any], kind: str, push_ms: int
) -> tuple[bytes, str]:
    frame = update([body], False, push_ms)
    label = str(body["contract"])
    if kind == "invalid_json":
        text = dumps(frame)
        return text[: rng.randint(5, len(text) - 2)], label
    if kind in ("oversize", "non_ascii_symbol", "unknown_instrument"):
        body["contract"] = {
            "oversize": "X" * OVERSIZE_BYTES,
            "non_ascii_symbol": f"{NON_ASCII}_USDT",
            "unknown_instrument": f"ZZ{rng.randrange(10**6)}_USDT",
        }[kind]
        return dumps(frame), str(body["contract"])[:16]
    if kind == "missing_field":
        body.pop(rng.choice(["contract", "price", "size", "time"]))
    elif kind == "wrong_type":
        target, name, value = rng.choice(
            [
                (body, "size", [1]),
                (body, "time", "soon"),
                (body, "price", None),
                (frame, "result", 5),
            ]
        )
        target[name] = value
    elif kind == "negative":
        body["price"] = "-" + body["price"]
    elif kind == "zero":
        body[rng.choice(["price", "size"])] = "0"
    elif kind == "nan":
        body["price"] = rng.choice(["NaN", "nan", "Infinity", "-inf"])
    elif kind == "huge":
        body["size"] = rng.choice(["1e308", "9" * 40, "1E+30"])
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return dumps(frame), label


# --- the plug-in --------------------------------------------------------------------


def instruments(coin: Coin) -> list[Instrument]:
    """A USDT perpetual `<COIN>_USDT` for every coin OKX lists (flag `o`), its
    `quanto_multiplier` sized to about $10 a contract (BTC 0.0001, as the real one)."""
    if "o" not in coin.flags:
        return []
    tick = tick_for(coin.price)
    multiplier = pow10(math.floor(math.log10(10 / coin.price)))
    name = f"{coin.name}_USDT"
    return [
        Instrument(
            VENUE, name, coin.name, "linear", "USDT", False, 1, multiplier, Decimal(1), tick,
            decimals(tick), Decimal(1), coin.weight, coin.name, name,
        )
    ]  # fmt: skip


def notional(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    return qty * inst.contract_size * price  # contracts × quanto_multiplier coins × price


def _servers(ctx: SimContext) -> list[VenueServer]:
    cfg = ctx.settings
    options = GateOptions(
        sampling_ms=cfg.sim_gate_sampling_ms, side_convention=cfg.sim_gate_side_convention
    )
    return [GateServer(ctx.ledger, ctx.catalog, options)]


PLUGIN = SimPlugin(
    exchange="gate",
    venues=(VENUE,),
    ports={"gate": 9106},
    instruments=instruments,
    notional=notional,
    servers=_servers,
    collector_env=collector_urls({"gate": "/v4/ws"}),
    weights={VENUE: 0.3},  # Gate: about 12-15 % of market liquidation volume
)
