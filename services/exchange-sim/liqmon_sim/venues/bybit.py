"""Bybit v5 public WebSocket (`allLiquidation.{symbol}`) and `GET /v5/market/instruments-info`.

One server, one port, both categories: `/v5/public/linear` and `/v5/public/inverse`.
Requests `{"req_id"?,"op":"subscribe","args":["allLiquidation.<SYM>",…]}` are answered
exactly as the doc fixtures (`{"success":true,"ret_msg":"","conn_id":…,"req_id":…,
"op":"subscribe"}`); a request naming a symbol the category does not list, a topic that
is not `allLiquidation.*`, or args longer than 21,000 characters is refused as a whole
(`"success":false` with the reason); a topic already subscribed on the connection is refused
with "already subscribed". `{"op":"ping"}` gets the linear/inverse pong. A connection with no
traffic either way for `idle_timeout` (real: about 10 minutes) is closed.

Delivery: no sampling (Bybit pushes every liquidation). Liquidations are batched per topic
and pushed every `batch_ms` (real: 500 ms) as `{"topic","type":"snapshot","ts","data":[…]}`
with `T` <= `ts`, to the connections subscribed to that topic.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection

from liqmon_sim import frames, malformed
from liqmon_sim.catalog import Catalog, Instrument, Venue, bybit_instruments
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.rest import bybit_instruments_info
from liqmon_sim.venues.base import Conn, VenueServer, now_ms, text_of
from liqmon_sim.venues.batching import BatchedServer
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls

logger = logging.getLogger(__name__)

WS_PREFIX = "/v5/public/"
CATEGORIES: dict[str, Venue] = {"linear": "bybit-linear", "inverse": "bybit-inverse"}
ARGS_MAX_CHARS = 21_000
MAX_PER_PUSH = 200


@dataclass
class BybitOptions:
    batch_ms: int = 500  # push period per topic; 0 = one push per liquidation, at once
    idle_timeout: float = 600.0


class BybitConn(Conn):
    def __init__(self, ws: ServerConnection, venue: Venue, conn_id: str) -> None:
        super().__init__(ws)
        self.venue = venue
        self.conn_id = conn_id
        self.topics: set[str] = set()


class BybitServer(BatchedServer):
    name = "bybit"
    venue: Venue = "bybit-linear"  # also serves bybit-inverse (see `served`)

    def __init__(
        self, ledger: Ledger, catalog: Catalog, options: BybitOptions, rng: random.Random
    ) -> None:
        super().__init__(ledger)
        self.catalog = catalog
        self.options = options
        self.rng = rng  # connection ids only
        self.pending: dict[tuple[Venue, str], list[Liquidation]] = {}

    def route(self, path: str) -> Venue | None:
        path = path.split("?", 1)[0]
        if not path.startswith(WS_PREFIX):
            return None
        return CATEGORIES.get(path[len(WS_PREFIX) :])

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if path == "/v5/market/time":
            now = now_ms()
            return 200, frames.bybit_rest({"timeSecond": str(now // 1000)}, now)
        if path != "/v5/market/instruments-info":
            return None
        category = query.get("category", [""])[0]
        venue = CATEGORIES.get(category)
        if venue is None:
            return 200, frames.bybit_rest_error(10001, "params error: category", now_ms())
        limit_text = query.get("limit", ["500"])[0] or "500"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            return 200, frames.bybit_rest_error(10001, "params error: limit", now_ms())
        cursor = query.get("cursor", [""])[0]
        answer = bybit_instruments_info(
            self.catalog, venue, category, int(limit_text), cursor, now_ms()
        )
        if answer is None:
            return 200, frames.bybit_rest_error(10001, "params error: cursor", now_ms())
        return 200, answer

    def rest_error(self, status: int) -> Any:
        if status == 429:
            return frames.bybit_rest_error(10006, "Too many visits!", now_ms())
        return frames.bybit_rest_error(10016, "Server error.", now_ms())

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        venue = self.route(ws.request.path if ws.request else "") or "bybit-linear"
        await self._serve(BybitConn(ws, venue, self._conn_id()), self._answer)

    def _conn_id(self) -> str:
        return frames.uuid_text(self.rng.getrandbits(128))

    def _answer(self, conn: BybitConn, message: str | bytes) -> bytes | None:
        text = text_of(message)
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict):
            return frames.bybit_reply("", False, "error:invalid request", conn.conn_id, "")
        op, req_id = request.get("op"), request.get("req_id", "")
        req_id = req_id if isinstance(req_id, str) else str(req_id)
        if op == "ping":
            return frames.bybit_reply("ping", True, "pong", conn.conn_id, req_id)
        problem = (
            self._check_args(conn, op, request.get("args"))
            if op in ("subscribe", "unsubscribe")
            else f"error:unknown op {op!r:.40}"
        )
        if problem:
            return frames.bybit_reply(str(op), False, problem, conn.conn_id, req_id)
        args = request["args"]
        assert isinstance(args, list)
        if op == "subscribe":
            conn.topics.update(args)
        else:
            conn.topics.difference_update(args)
        self._changed()
        return frames.bybit_reply(str(op), True, "", conn.conn_id, req_id)

    def _check_args(self, conn: BybitConn, op: str, args: object) -> str:
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            return "error:args must be a non-empty list of topics"
        if len(orjson.dumps(args)) > ARGS_MAX_CHARS:
            return f"error:args length exceeds {ARGS_MAX_CHARS}"
        if op == "unsubscribe":
            return ""
        bad = [a for a in args if not self._listed(conn.venue, a)]
        if bad:
            return f"Invalid symbol :[{','.join(bad[:20])}]"
        again = [a for a in args if a in conn.topics]
        if again:
            return f"error:already subscribed,topic:{','.join(again[:20])}"
        return ""

    def _listed(self, venue: Venue, topic: str) -> bool:
        prefix = frames.BYBIT_TOPIC_PREFIX
        if not topic.startswith(prefix):
            return False
        return self.catalog.get(venue, topic[len(prefix) :]) is not None

    @property
    def served(self) -> tuple[Venue, ...]:
        return tuple(CATEGORIES.values())

    def background(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [("bybit.flusher", self.flusher()), ("bybit.idle", self.idle_sweeper())]

    async def idle_sweeper(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, max(0.02, self.options.idle_timeout / 10)))
            limit_ms = self.options.idle_timeout * 1000
            now = now_ms()
            for conn in list(self.conns):
                if conn.stalled or not conn.open:
                    continue
                if now - max(conn.last_client_ms, conn.last_push_ms) > limit_ms:
                    self.stats["idle_closes"] += 1
                    self.tasks.spawn(conn.drop("close", 1000, "idle"), "bybit.idle-close")

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(c.live and isinstance(c, BybitConn) and c.topics for c in self.conns)

    def has_audience_for(self, venue: Venue) -> bool:
        return any(
            c.live and isinstance(c, BybitConn) and c.venue == venue and c.topics
            for c in self.conns
        )

    def ready_for(self, venue: Venue) -> bool:
        subscribed: set[str] = set()
        for c in self.conns:
            if c.live and isinstance(c, BybitConn) and c.venue == venue:
                subscribed |= c.topics
        listed = self.catalog.rest_visible(venue, now_ms())
        return bool(listed) and all(
            frames.BYBIT_TOPIC_PREFIX + i.inst_id in subscribed for i in listed
        )

    def pending_count(self, run: int | None = None) -> int:
        if run is None:
            return sum(len(v) for v in self.pending.values())
        return sum(1 for liqs in self.pending.values() for liq in liqs if liq.run == run)

    def batch_ms(self) -> int:
        return self.options.batch_ms

    def _queue(self, liq: Liquidation) -> None:
        self.pending.setdefault((liq.inst.venue, liq.inst.inst_id), []).append(liq)

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, {}
        for (venue, symbol), liqs in pending.items():
            for start in range(0, len(liqs), MAX_PER_PUSH):
                chunk = liqs[start : start + MAX_PER_PUSH]
                now = now_ms()
                payload = frames.bybit_push(symbol, [frames.bybit_entry(x) for x in chunk], now)
                clients = self._send_to(venue, symbol, payload, now)
                for liq in chunk:
                    seq = self._emitted(liq, clients, now)
                    if seq:
                        self._remember(liq, seq, partial(_one_push, symbol, liq, now))

    def _send_to(self, venue: Venue, symbol: str, payload: bytes, now: int) -> int:
        topic = frames.BYBIT_TOPIC_PREFIX + symbol
        clients = 0
        for conn in self.conns:
            if isinstance(conn, BybitConn) and conn.venue == venue and topic in conn.topics:
                clients += conn.send(payload, now)
        return clients

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        assert frame is not None
        return self._send_to(liq.inst.venue, liq.inst.inst_id, frame, now_ms)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        payload, label = malformed.bybit(rng, liq, kind, now_ms())
        now = now_ms()
        clients = self._send_to(liq.inst.venue, liq.inst.inst_id, payload, now)
        self._malformed_emitted(liq.inst.venue, label, kind, liq, clients, now)


def _one_push(symbol: str, liq: Liquidation, ts: int) -> bytes:
    """A push of `liq` alone, as a re-send of it goes out."""
    return frames.bybit_push(symbol, [frames.bybit_entry(liq)], ts)


# --- the plug-in --------------------------------------------------------------------


def _servers(ctx: SimContext) -> list[VenueServer]:
    cfg = ctx.settings
    options = BybitOptions(cfg.sim_bybit_batch_ms, cfg.sim_bybit_idle_timeout_s)
    return [BybitServer(ctx.ledger, ctx.catalog, options, ctx.rng("bybit"))]


def _usd(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    # linear: v coins × p; inverse: v contracts of 1 USD each
    return qty * price if inst.ct_type == "linear" else qty


PLUGIN = SimPlugin(
    exchange="bybit",
    venues=tuple(CATEGORIES.values()),
    ports={"bybit": 9104},
    instruments=bybit_instruments,
    notional=_usd,
    servers=_servers,
    collector_env=collector_urls({"bybit": WS_PREFIX.rstrip("/")}),
    spec_free=frozenset(CATEGORIES.values()),
    weights={"bybit-linear": 0.35, "bybit-inverse": 0.05},
)
