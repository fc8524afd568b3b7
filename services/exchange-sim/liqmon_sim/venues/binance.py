"""Binance futures market streams (`!forceOrder@arr`, `<symbol>@forceOrder`) and exchangeInfo.

One class serves both products: USDⓈ-M under `/market` (`/market/ws/<streams>` raw,
`/market/stream?streams=a/b` combined; the retired legacy root `/ws`, `/stream` accepts the
handshake and never pushes, as the real one did after 2026-04-23) and COIN-M at the root.
Live SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY with
Binance's acks and error objects; more than `max_msgs_per_s` incoming messages a second
closes the socket. The server sends ping frames every `ping_interval`, drops a client whose
pong is `pong_timeout` late, and closes every socket at `max_connection_s` (the real 24 h).

Sampling: "for each symbol, only the latest one liquidation order within 1000 ms will be
pushed": liquidations wait in a slot per symbol and are pushed on each 1000 ms boundary
(`E` = the boundary, so E − T is up to a second, as in the 2026 captures); a liquidation
replaced in its slot is recorded as suppressed, never as emitted.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from liqmon_sim import frames, malformed
from liqmon_sim.catalog import (
    Catalog,
    Instrument,
    Venue,
    binance_coinm_instruments,
    binance_usdm_instruments,
)
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.rest import binance_exchange_info
from liqmon_sim.venues.base import Conn, Hangup, VenueServer, now_ms
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls
from liqmon_sim.venues.sampling import SampledServer

logger = logging.getLogger(__name__)

ALL_MARKET = "!forceOrder@arr"
MAX_STREAMS = 1024
METHODS = "SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY"


@dataclass
class BinanceOptions:
    sampling_ms: int = 1000
    ping_interval: float = 180.0
    pong_timeout: float = 600.0
    max_connection_s: float = 86_400.0
    max_msgs_per_s: int = 10  # 0 = no limit
    legacy_root: bool = True  # USDⓈ-M: accept `/ws`, `/stream` but never push


@dataclass
class Route:
    streams: list[str]
    combined: bool
    legacy: bool


class BinanceConn(Conn):
    def __init__(self, ws: ServerConnection, route: Route) -> None:
        super().__init__(ws)
        self.streams: dict[str, None] = dict.fromkeys(route.streams)
        self.combined = route.combined
        self.legacy = route.legacy
        self.recent_msgs: deque[float] = deque()
        self.unanswered_since: float | None = None
        self.pings = 0  # ping frames sent to this client


class BinanceServer(SampledServer):
    def __init__(
        self, venue: Venue, ledger: Ledger, catalog: Catalog, options: BinanceOptions
    ) -> None:
        super().__init__(ledger)
        self.venue = self.name = venue
        self.catalog = catalog
        self.options = options
        self.usdm = venue == "binance-usdm"
        self.api = "fapi" if self.usdm else "dapi"

    # --- routing --------------------------------------------------------------------

    def route(self, path: str) -> Route | None:
        """The WebSocket route for a request path, or None if it is not one."""
        split = urlsplit(path)
        if self.usdm:
            if split.path == "/market" or split.path.startswith("/market/"):
                return _parse_route(split.path[len("/market") :], split.query, legacy=False)
            if not self.options.legacy_root:
                return None
            return _parse_route(split.path, split.query, legacy=True)
        return _parse_route(split.path, split.query, legacy=False)

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        del query  # exchangeInfo takes no parameters we honour
        if path == f"/{self.api}/v1/exchangeInfo":
            return 200, binance_exchange_info(self.catalog, self.venue, now_ms())
        if path == f"/{self.api}/v1/ping":
            return 200, {}
        if path == f"/{self.api}/v1/time":
            return 200, {"serverTime": now_ms()}
        return None

    def rest_error(self, status: int) -> Any:
        if status == 429:
            return {
                "code": -1003,
                "msg": "Too many requests; current limit is 2400 requests per minute.",
            }
        return {
            "code": -1001,
            "msg": "Internal error; unable to process your request. Please try again.",
        }

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        route = self.route(ws.request.path)
        if route is None:  # process_request already refused it; be safe anyway
            await ws.close(1008, "unknown path")
            return
        conn = BinanceConn(ws, route)
        await self._serve(conn, self._answer, watch=self._watch(conn))

    def _over_limit(self, conn: BinanceConn) -> bool:
        limit = self.options.max_msgs_per_s
        if limit <= 0:
            return False
        t = asyncio.get_running_loop().time()
        conn.recent_msgs.append(t)
        while conn.recent_msgs and conn.recent_msgs[0] <= t - 1.0:
            conn.recent_msgs.popleft()
        return len(conn.recent_msgs) > limit

    def _answer(self, conn: BinanceConn, message: str | bytes) -> bytes | None:
        if self._over_limit(conn):
            self.stats["rate_limit_closes"] += 1
            raise Hangup(1008, "Too many requests")
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            return frames.binance_error(3, "Invalid JSON: expected value at line 1 column 1")
        if not isinstance(request, dict):
            return frames.binance_error(2, "Invalid request: expected an object")
        req_id = request.get("id")
        if req_id is not None and not (
            (isinstance(req_id, int) and not isinstance(req_id, bool) and req_id >= 0)
            or isinstance(req_id, str)
        ):
            return frames.binance_error(
                2, "Invalid request: request ID must be an unsigned integer"
            )
        method = request.get("method")
        params = request.get("params", [])
        if method is None:
            return frames.binance_error(
                2, "Invalid request: missing field `method` at line 1 column 1"
            )
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return frames.binance_error(2, "Invalid request: property name must be a string")
            if method == "SUBSCRIBE":
                if len(conn.streams.keys() | set(params)) > MAX_STREAMS:
                    return frames.binance_error(2, "Invalid request: too many parameters")
                conn.streams.update(dict.fromkeys(params))
            else:
                for name in params:
                    conn.streams.pop(name, None)
            self._changed()
            return frames.binance_result(req_id)
        if method == "LIST_SUBSCRIPTIONS":
            return frames.binance_result(req_id, list(conn.streams))
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            if not isinstance(params, list) or not params or params[0] != "combined":
                return frames.binance_error(0, "Unknown property", req_id)
            if method == "GET_PROPERTY":
                return frames.binance_result(req_id, conn.combined)
            if len(params) != 2 or not isinstance(params[1], bool):
                return frames.binance_error(1, "Invalid value type: expected Boolean")
            conn.combined = params[1]
            return frames.binance_result(req_id)
        msg = f"Invalid request: unknown variant {method}, expected one of {METHODS}"
        return frames.binance_error(2, f"{msg} at line 1 column 28")

    async def _watch(self, conn: BinanceConn) -> None:
        """Ping frames, the pong deadline and the maximum connection lifetime."""
        opt = self.options
        loop = asyncio.get_running_loop()
        opened = last_ping = loop.time()
        tick = min(
            1.0, max(0.01, min(opt.ping_interval, opt.pong_timeout, opt.max_connection_s) / 5)
        )
        try:
            while conn.open:
                await asyncio.sleep(tick)
                t = loop.time()
                if t - opened >= opt.max_connection_s:
                    self.stats["lifetime_closes"] += 1
                    await conn.drop("close", 1000, "")
                    return
                if conn.stalled:
                    # a frozen exchange sends nothing, pings included, and cannot hold
                    # the pongs it did not read against the client afterwards
                    conn.unanswered_since = None
                    continue
                if (
                    conn.unanswered_since is not None
                    and t - conn.unanswered_since > opt.pong_timeout
                ):
                    self.stats["ping_timeouts"] += 1
                    await conn.drop("close", 1008, "pong timeout")
                    return
                if t - last_ping >= opt.ping_interval:
                    last_ping = t
                    if conn.unanswered_since is None:
                        conn.unanswered_since = t
                    waiter = await conn.ws.ping()
                    asyncio.ensure_future(waiter).add_done_callback(partial(_ponged, conn))
                    self.stats["pings_sent"] += 1
                    conn.pings += 1
        except ConnectionClosed:
            pass

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(
            isinstance(c, BinanceConn) and c.live and not c.legacy and c.streams for c in self.conns
        )

    def ready_for(self, venue: Venue) -> bool:
        return venue == self.venue and any(
            isinstance(c, BinanceConn) and c.live and not c.legacy and ALL_MARKET in c.streams
            for c in self.conns
        )

    def sampling_ms(self) -> int:
        return self.options.sampling_ms

    def _push(self, liq: Liquidation, push_ms: int) -> None:
        raw = frames.dumps(frames.binance_event(liq, push_ms))
        now = now_ms()
        clients = self._broadcast(frames.binance_symbol_stream(liq.inst), raw, now)
        seq = self._emitted(liq, clients, now)
        if seq:
            self._remember(liq, seq, raw)

    def _broadcast(self, symbol_stream: str | None, raw: bytes, now: int) -> int:
        wrapped: dict[str, bytes] = {}
        clients = 0
        for conn in self.conns:
            if not isinstance(conn, BinanceConn) or conn.legacy or not conn.live:
                continue
            sent = False
            for name in (ALL_MARKET, symbol_stream):
                if name is None or name not in conn.streams:
                    continue
                if conn.combined:
                    payload = wrapped.get(name) or wrapped.setdefault(
                        name, frames.binance_combined(name, raw)
                    )
                else:
                    payload = raw
                sent = conn.send(payload, now) or sent
            clients += sent
        return clients

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        assert frame is not None
        return self._broadcast(frames.binance_symbol_stream(liq.inst), frame, now_ms)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        now = now_ms()
        payload, label = malformed.binance(rng, liq, kind, now)
        clients = self._broadcast(None, payload, now)
        self._malformed_emitted(self.venue, label, kind, liq, clients, now)


def _ponged(conn: BinanceConn, fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is None:
        conn.unanswered_since = None


def _parse_route(path: str, query: str, legacy: bool) -> Route | None:
    if path == "/ws" or path.startswith("/ws/"):
        streams = [unquote(s) for s in path[len("/ws/") :].split("/") if s]
        return Route(streams, combined=False, legacy=legacy)
    if path == "/stream":
        names = parse_qs(query).get("streams", [""])[0]
        return Route([s for s in names.split("/") if s], combined=True, legacy=legacy)
    return None


# --- the plug-in --------------------------------------------------------------------


def _servers(ctx: SimContext) -> list[VenueServer]:
    cfg = ctx.settings
    sampling = cfg.sim_binance_sampling_ms
    # one options object: a `sampling` control change applies to both products
    options = BinanceOptions(
        sampling_ms=ctx.scenario.binance_sampling_ms if sampling is None else sampling,
        ping_interval=cfg.sim_binance_ping_interval_s,
        pong_timeout=cfg.sim_binance_pong_timeout_s,
        max_connection_s=cfg.sim_binance_max_connection_s,
        max_msgs_per_s=cfg.sim_binance_max_msgs_per_s,
        legacy_root=cfg.sim_binance_legacy_root,
    )
    return [BinanceServer(v, ctx.ledger, ctx.catalog, options) for v in VENUES]


def _usd(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    # USDⓈ-M: z × ap; COIN-M: contracts × contract size (USD)
    return qty * price if inst.venue == "binance-usdm" else qty * inst.contract_size


VENUES: tuple[Venue, ...] = ("binance-usdm", "binance-coinm")
PLUGIN = SimPlugin(
    exchange="binance",
    venues=VENUES,
    ports={"binance-usdm": 9101, "binance-coinm": 9102},
    instruments=lambda coin: binance_usdm_instruments(coin) + binance_coinm_instruments(coin),
    notional=_usd,
    servers=_servers,
    collector_env=collector_urls({"binance-usdm": "/market", "binance-coinm": ""}),
    weights={"binance-usdm": 0.5, "binance-coinm": 0.1},
    price_spread=False,  # `ap` is the average fill price
    spec_free=frozenset({"binance-usdm"}),
)
