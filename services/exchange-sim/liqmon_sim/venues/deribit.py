"""Deribit JSON-RPC WebSocket (`trades.future.{currency}.100ms`) and `public/get_instruments`.

One server, one port: `/ws/api/v2` (WebSocket) and `GET /api/v2/public/get_instruments
?currency=…&kind=future`. Requests are JSON-RPC 2.0 (`{"jsonrpc","id","method","params"}`):
- `public/subscribe {"channels":[…]}` answers the list of channels it accepted: unknown or
  malformed channels are silently left out (as Deribit does); a `.raw` channel refuses the
  whole request with error 13778 (`raw_subscriptions_not_available_for_unauthorized`);
- `public/set_heartbeat {"interval": s}` (s >= 10, else error 11029) answers `"ok"`; from
  then on the server sends `{"method":"heartbeat","params":{"type":"test_request"}}` every
  interval and closes the connection (code 4000, "heartbeat close") when one goes
  unanswered by a `public/test` for `heartbeat_grace` seconds. `heartbeat_seconds` (tests)
  replaces the client's interval so this can be exercised quickly;
- `public/test` answers `{"version":…}`; text that is not JSON gets error 11050 (no id).

Liquidations are trades flagged `liquidation`: `T` (the taker was liquidated; `direction` =
its order side), `M` (the maker was; `direction` is the taker's, the opposite of the
maker's order side) or `MT` (both: one trade, two liquidations in the ledger - the maker's
and the taker's, opposite sides, same amount). Ordinary trades are mixed in. Trades are
batched per channel every `batch_ms` (real: 100 ms). `amount` is USD for inverse
instruments (`BTC-PERPETUAL`, `BTC-25DEC26`: multiples of the 10/1 USD contract) and coins
for linear ones (`SOL_USDC-PERPETUAL`); `timestamp` is the trade's time.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection

from liqmon_sim import frames, malformed
from liqmon_sim.catalog import (
    EXPIRY_MS,
    Catalog,
    Coin,
    Instrument,
    Venue,
    decimals,
    pow10,
    tick_for,
)
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation, Side
from liqmon_sim.venues.base import Conn, VenueServer, now_ms, text_of
from liqmon_sim.venues.batching import BatchedServer
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls

WS_PATH = "/ws/api/v2"
REST_PATH = "/api/v2/public/get_instruments"
VENUES: tuple[Venue, ...] = ("deribit-inverse", "deribit-linear")
EXPIRY_NAME = "25DEC26"
CHANNEL = re.compile(r"^trades\.future\.(BTC|ETH|USDC|USDT|any)\.(100ms|agg2|raw)$")
_OPPOSITE: dict[str, Side] = {"long": "short", "short": "long"}


def instruments(coin: Coin) -> list[Instrument]:
    """Inverse `BTC-PERPETUAL` / `ETH-PERPETUAL` (10 / 1 USD contracts; + the quarterly
    `…-25DEC26` for flag `f`); linear `<COIN>_USDC-PERPETUAL` for every coin with a USDC pair
    (flag `u`). `pair` holds the currency of the coin's trades channel; `lot` is the step of
    `amount` (USD for inverse, coins for linear)."""
    rows: list[tuple[Venue, str, str, Decimal, str]] = []
    if coin.name in ("BTC", "ETH"):
        size = Decimal(10) if coin.name == "BTC" else Decimal(1)
        dated = [f"{coin.name}-{EXPIRY_NAME}"] if "f" in coin.flags else []
        for name in [f"{coin.name}-PERPETUAL", *dated]:
            rows.append(("deribit-inverse", name, "USD", size, coin.name))
    if "u" in coin.flags:
        lot = pow10(min(0, -len(str(int(coin.price)))))  # BTC 0.00001, SOL 0.001, XRP 0.1
        rows.append(("deribit-linear", f"{coin.name}_USDC-PERPETUAL", "USDC", lot, "USDC"))
    tick = tick_for(coin.price)
    return [
        Instrument(
            venue, name, coin.name, "linear" if venue == "deribit-linear" else "inverse", quote,
            "PERPETUAL" not in name, 1, lot, Decimal(1), tick, decimals(tick), lot,
            coin.weight * 0.3, coin.name, cur,
        )
        for venue, name, quote, lot, cur in rows
    ]  # fmt: skip


def currency(inst: Instrument) -> str:
    return inst.pair  # the channel's currency: BTC / ETH (inverse) or USDC (linear)


def notional(inst: Instrument, amount: Decimal, price: Decimal) -> Decimal:
    """Exact USD value of a trade's `amount` at `price`, in the simulator's own terms."""
    return amount if inst.venue == "deribit-inverse" else amount * price


def rest_instrument(inst: Instrument) -> dict[str, Any]:
    """A `get_instruments` object (the fields a client reads, real names)."""
    kind = "linear" if inst.venue == "deribit-linear" else "reversed"
    return {
        "tick_size": float(inst.tick), "taker_commission": 0.0005,
        "settlement_period": "month" if inst.delivery else "perpetual",
        "settlement_currency": "USDC" if kind == "linear" else inst.coin,
        "quote_currency": inst.quote, "min_trade_amount": float(inst.lot), "kind": "future",
        "is_active": True, "instrument_name": inst.inst_id, "instrument_type": kind,
        "future_type": kind, "counter_currency": inst.quote,
        "expiration_timestamp": EXPIRY_MS if inst.delivery else 32503708800000,
        "contract_size": float(inst.lot), "base_currency": inst.coin,
    }  # fmt: skip


@dataclass
class DeribitOptions:
    batch_ms: int = 100
    maker_share: float = 0.3  # of liquidations whose maker (not taker) was liquidated
    both_share: float = 0.1  # ... whose maker AND taker were (`MT`)
    ordinary_share: float = 0.5  # an ordinary trade goes out with a liquidation this often
    heartbeat_seconds: float | None = None  # override the client's interval (tests)
    heartbeat_grace: float = 10.0


class DeribitConn(Conn):
    def __init__(self, ws: ServerConnection) -> None:
        super().__init__(ws)
        self.channels: set[str] = set()  # currencies subscribed: "BTC", "ETH", "USDC"
        self.heartbeat: float | None = None
        self.next_test = 0.0
        self.waiting_since: float | None = None


@dataclass
class _Trade:
    liqs: list[Liquidation]  # the liquidations it carries (two for MT)
    body: dict[str, Any]


class DeribitServer(BatchedServer):
    name = "deribit"
    venue: Venue = "deribit-inverse"  # also serves deribit-linear

    def __init__(
        self, ledger: Ledger, catalog: Catalog, options: DeribitOptions, rng: random.Random
    ) -> None:
        super().__init__(ledger)
        self.catalog = catalog
        self.options = options
        self.rng = rng  # parties and ordinary trades
        self.pending: dict[str, list[_Trade]] = {}
        self._seq = 0

    @property
    def served(self) -> tuple[Venue, ...]:
        return VENUES

    def background(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [("deribit-flusher", self.flusher()), ("deribit-heartbeats", self.heartbeats())]

    def route(self, path: str) -> bool:
        return path.split("?", 1)[0] == WS_PATH

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if path != REST_PATH:
            return None
        wanted = query.get("currency", [""])[0]
        if wanted not in ("BTC", "ETH", "USDC", "USDT", "any"):
            return 400, _error(None, 10019, "invalid currency")
        rows = [
            rest_instrument(i)
            for v in VENUES
            for i in self.catalog.rest_visible(v, now_ms())
            if wanted in ("any", currency(i))
        ]
        return 200, _result(None, rows)

    def rest_error(self, status: int) -> Any:
        if status == 429:
            return _error(None, 10028, "too_many_requests")
        return _error(None, 11094, "internal_server_error")

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        await self._serve(DeribitConn(ws), self._answer)

    def _answer(self, conn: DeribitConn, message: str | bytes) -> bytes:
        return orjson.dumps(self._reply_to(conn, text_of(message)))

    def _reply_to(self, conn: DeribitConn, text: str) -> dict[str, Any]:
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            return _error(None, 11050, "bad_request")
        if not isinstance(request, dict):
            return _error(None, 11050, "bad_request")
        rid, method = request.get("id"), request.get("method")
        params = request.get("params")
        if not isinstance(params, dict):
            params = {}
        if method == "public/test":
            conn.waiting_since = None
            self.stats["test_answers"] += 1
            return _result(rid, {"version": "1.2.26"})
        if method == "public/set_heartbeat":
            interval = params.get("interval")
            if not isinstance(interval, int | float) or interval < 10:
                return _error(rid, 11029, "invalid_arguments")
            conn.heartbeat = self.options.heartbeat_seconds or float(interval)
            conn.next_test = asyncio.get_running_loop().time() + conn.heartbeat
            return _result(rid, "ok")
        if method in ("public/subscribe", "public/unsubscribe"):
            channels = params.get("channels")
            if not isinstance(channels, list):
                return _error(rid, 11029, "invalid_arguments")
            matches = [(c, CHANNEL.match(c)) for c in channels if isinstance(c, str)]
            if any(m and m.group(2) == "raw" for _, m in matches):
                return _error(rid, 13778, "raw_subscriptions_not_available_for_unauthorized")
            ok = [(c, m.group(1)) for c, m in matches if m]
            for _, cur in ok:
                (conn.channels.add if method == "public/subscribe" else conn.channels.discard)(cur)
            self._changed()
            return _result(rid, [c for c, _ in ok])
        return _error(rid, 11050, "method_not_found")

    async def heartbeats(self) -> None:
        """Send `test_request`s; close a connection that leaves one unanswered."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(0.05)
            now = loop.time()
            for conn in [c for c in self.conns if isinstance(c, DeribitConn) and c.heartbeat]:
                if conn.stalled or not conn.open:
                    continue
                waiting = conn.waiting_since
                if waiting is not None and now - waiting > self.options.heartbeat_grace:
                    self.stats["heartbeat_closes"] += 1
                    self.tasks.spawn(conn.drop("close", 4000, "heartbeat close"), "deribit.hb")
                elif now >= conn.next_test:
                    assert conn.heartbeat is not None
                    conn.next_test = now + conn.heartbeat
                    conn.send(
                        orjson.dumps(
                            {
                                "params": {"type": "test_request"},
                                "method": "heartbeat",
                                "jsonrpc": "2.0",
                            }
                        ),
                        now_ms(),
                    )
                    self.stats["test_requests"] += 1
                    if waiting is None:
                        conn.waiting_since = now

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(c.live and isinstance(c, DeribitConn) and c.channels for c in self.conns)

    def pending_count(self, run: int | None = None) -> int:
        trades = [t for ts in self.pending.values() for t in ts]
        return sum(1 for t in trades for x in t.liqs if run is None or x.run == run)

    def batch_ms(self) -> int:
        return self.options.batch_ms

    def _queue(self, liq: Liquidation) -> None:
        flag = self._flag()
        direction = "sell" if liq.side == "long" else "buy"  # a T-party long sells
        if flag == "M":
            direction = "buy" if liq.side == "long" else "sell"  # the maker sold: taker bought
        liqs = [liq]
        if flag == "MT":  # the maker (opposite position) first, then the taker (liq.side)
            maker = Liquidation(
                liq.inst,
                _OPPOSITE[liq.side],
                liq.qty,
                liq.price,
                liq.ts,
                liq.usd,
                liq.price,
                liq.qty,
                run=liq.run,
            )
            liqs = [maker, liq]
        cur = currency(liq.inst)
        batch = self.pending.setdefault(cur, [])
        if self.rng.random() < self.options.ordinary_share:
            batch.append(_Trade([], self._body(liq, self.rng.choice(("buy", "sell")), None)))
        batch.append(_Trade(liqs, self._body(liq, direction, flag)))

    def _flag(self) -> str:
        draw = self.rng.random()
        if draw < self.options.both_share:
            return "MT"
        return "M" if draw < self.options.both_share + self.options.maker_share else "T"

    def _body(self, liq: Liquidation, direction: str, flag: str | None) -> dict[str, Any]:
        self._seq += 1
        inst = liq.inst
        body: dict[str, Any] = {
            "trade_seq": self._seq,
            "trade_id": f"{currency(inst)}-{self._seq}",
            "timestamp": liq.ts,
            "tick_direction": self._seq % 4,
            "price": liq.price,
            "mark_price": liq.price,
            "index_price": liq.price,
            "instrument_name": inst.inst_id,
            "direction": direction,
            "amount": liq.qty,
            "contracts": liq.qty / inst.lot,
        }
        if flag is not None:
            body["liquidation"] = flag
        return body

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, {}
        for cur, trades in pending.items():
            now = now_ms()
            channel = f"trades.future.{cur}.100ms"
            clients = self._send_to(cur, _notification(channel, [t.body for t in trades]), now)
            for trade in trades:
                seqs = [self._emitted(liq, clients, now) for liq in trade.liqs]
                if seqs and seqs[0]:
                    one = partial(_notification, channel, [trade.body])
                    self._remember(trade.liqs[-1], seqs[-1], one)

    def _send_to(self, cur: str, payload: bytes, now: int) -> int:
        return sum(
            conn.send(payload, now)
            for conn in self.conns
            if isinstance(conn, DeribitConn) and cur in conn.channels
        )

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        assert frame is not None
        return self._send_to(currency(liq.inst), frame, now_ms)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        cur = currency(liq.inst)
        body = self._body(liq, "sell" if liq.side == "long" else "buy", "T")
        params: dict[str, Any] = {"channel": f"trades.future.{cur}.100ms", "data": [body]}
        push: dict[str, Any] = {"jsonrpc": "2.0", "method": "subscription", "params": params}
        if kind == "oversize":
            body["instrument_name"] = "X" * malformed.OVERSIZE_BYTES
            payload, label = frames.dumps(push), "X" * 16
        else:
            wrong_types: list[malformed._Mutation] = [
                (body, "amount", "lots"),
                (body, "timestamp", "soon"),
                (params, "data", "trades"),
                (body, "liquidation", 7),
            ]
            required = ["amount", "price", "direction", "instrument_name", "trade_id", "timestamp"]
            kind = kind if kind not in malformed.NEEDS_SPEC else "missing_field"
            payload, label = malformed._break_common(
                rng, kind, push, liq.inst.inst_id, wrong_types, (body, "amount", "price", required)
            )
        now = now_ms()
        clients = self._send_to(cur, payload, now)
        self._malformed_emitted(liq.inst.venue, label, kind, liq, clients, now)


def _notification(channel: str, data: list[dict[str, Any]]) -> bytes:
    return frames.dumps(
        {"jsonrpc": "2.0", "method": "subscription", "params": {"channel": channel, "data": data}}
    )


def _result(rid: Any, result: Any) -> dict[str, Any]:
    """A JSON-RPC answer (a REST answer has no `id`)."""
    now = now_ms() * 1000
    body = {"jsonrpc": "2.0", "id": rid, "result": result, "usIn": now, "usOut": now + 40,
            "usDiff": 40, "testnet": False}  # fmt: skip
    if rid is None:
        del body["id"]
    return body


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    """An error answer; Deribit omits `id` when the request had none (not JSON)."""
    body = {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message},
            "testnet": False}  # fmt: skip
    if rid is None:
        del body["id"]
    return body


def _servers(ctx: SimContext) -> list[VenueServer]:
    return [DeribitServer(ctx.ledger, ctx.catalog, DeribitOptions(), ctx.rng("deribit"))]


PLUGIN = SimPlugin(
    exchange="deribit",
    venues=VENUES,
    ports={"deribit": 9108},
    instruments=instruments,
    notional=notional,
    servers=_servers,
    collector_env=collector_urls({"deribit": WS_PATH}),
    weights={"deribit-inverse": 0.03, "deribit-linear": 0.005},
)
