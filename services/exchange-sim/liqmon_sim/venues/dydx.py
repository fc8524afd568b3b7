"""dYdX v4 indexer: WebSocket `/v4/ws` (`v4_trades` per market) and `GET /v4/perpetualMarkets`.

Protocol, as the open-source indexer (`socks`) behaves:
- on connect `{"type":"connected","connection_id":…,"message_id":0}`;
- `{"type":"subscribe","channel":"v4_trades","id":"BTC-USD"}` is answered with `subscribed`
  whose `contents.trades` is the market's recent trades, newest first — history, liquidations
  included (the quirk a collector must count once); an unknown market, a second subscription
  of the same market or a 33rd `v4_trades` subscription on one connection gets
  `{"type":"error","message":…,"channel","id"}`; `unsubscribe` -> `unsubscribed`;
- trades arrive as `channel_data` (`contents.trades`): each liquidation is one
  `type:"LIQUIDATED"` trade (side = the liquidated taker's: `SELL` for a long) next to an
  ordinary `LIMIT` fill of the same market, which a collector must skip;
- the server sends a protocol ping every `ping_interval` and closes the connection (1011
  "Heartbeat timeout") when the pong does not come within `pong_timeout`.

Ledger: a liquidation is recorded when its frame reaches a client. One that nobody was
subscribed to stays in the market's history and is recorded when a `subscribed` reply first
carries it (what a reconnecting collector recovers); history the client saw before is not
recorded again. `dust_fraction` turns liquidations into 1e-9-coin fills worth $0.00.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import math
import random
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache, partial
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from liqmon_sim import frames, malformed
from liqmon_sim.catalog import Coin, Instrument, Venue, exponent, tick_for
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation, round_cents
from liqmon_sim.venues.base import Conn, VenueServer, now_ms
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls

EXCHANGE = "dydx"
VENUE: Venue = "dydx"
WS_PATH = "/v4/ws"
MARKETS_PATH = "/v4/perpetualMarkets"
CHANNEL = "v4_trades"
MAX_TRADES_SUBSCRIPTIONS = 32
DUST = Decimal("1E-9")


@dataclass
class DydxOptions:
    ping_interval: float = 30.0
    pong_timeout: float = 10.0
    history: int = 30  # trades per market in a `subscribed` reply
    dust_fraction: float = 0.0
    #: Markets the REST list shows but the WebSocket refuses (a listing racing the indexer).
    refused: frozenset[str] = frozenset()


def instruments(coin: Coin) -> list[Instrument]:
    """A `<COIN>-USD` perpetual for every coin OKX lists as a USDT swap (flag `o`)."""
    if "o" not in coin.flags:
        return []
    tick = tick_for(coin.price)
    lot = Decimal(1).scaleb(max(-6, min(0, math.floor(math.log10(1 / coin.price)))))
    return [
        Instrument(
            VENUE, f"{coin.name}-USD", coin.name, "linear", "USD", False, 1, Decimal(1),
            Decimal(1), tick, max(0, -exponent(tick)), lot, coin.weight * 0.2, coin.name,
            f"{coin.name}-USD",
        )
    ]  # fmt: skip


def notional(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    """`size` is coins, `price` USD (USDC margined)."""
    del inst
    return qty * price


def iso(ms: int) -> str:
    return _iso_second(ms // 1000) + f"{ms % 1000:03d}Z"


@lru_cache(maxsize=64)
def _iso_second(second: int) -> str:
    """`2026-12-05T21:52:30.` of a Unix second: every trade of a second shares it, and
    formatting a datetime per trade (twice per liquidation) was most of building one."""
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def trade(liq: Liquidation, trade_id: str) -> dict[str, Any]:
    return {
        "id": trade_id, "size": frames.plain(liq.qty), "price": frames.plain(liq.price),
        "side": "SELL" if liq.side == "long" else "BUY", "createdAt": iso(liq.ts),
        "type": "LIQUIDATED",
    }  # fmt: skip


def ordinary_fill(liq: Liquidation, trade_id: str) -> dict[str, Any]:
    """A maker-taker fill of the same market, which is not a liquidation."""
    side = "BUY" if liq.side == "long" else "SELL"
    return {**trade(liq, trade_id), "side": side, "type": "LIMIT"}


def markets_body(listed: dict[str, Instrument]) -> dict[str, Any]:
    return {
        "markets": {
            name: {
                "clobPairId": str(n), "ticker": name, "status": "ACTIVE",
                "tickSize": frames.plain(inst.tick), "stepSize": frames.plain(inst.lot),
                "marketType": "CROSS",
            }
            for n, (name, inst) in enumerate(sorted(listed.items()))
        }
    }  # fmt: skip


class DydxConn(Conn):
    def __init__(self, ws: ServerConnection, conn_id: str) -> None:
        super().__init__(ws)
        self.conn_id = conn_id
        self.markets: set[str] = set()
        self.message_ids = itertools.count(1)


@dataclass
class _Past:
    """One trade of a market's history: its wire form and, for a liquidation, the ledger
    seq (0 while no client has received it)."""

    trade: dict[str, Any]
    liq: Liquidation | None = None
    seq: int = 0


class DydxServer(VenueServer):
    name = EXCHANGE
    venue = VENUE

    def __init__(
        self,
        ledger: Ledger,
        listed: dict[str, Instrument],
        options: DydxOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(ledger)
        self.listed = listed  # live: markets listed later appear in the REST answer
        self.options = options or DydxOptions()
        self.rng = rng or random.Random(7)
        self.history: dict[str, deque[_Past]] = {}
        self._ids = itertools.count(1)

    # --- routes ---------------------------------------------------------------------

    def route(self, path: str) -> bool:
        return path.split("?", 1)[0] == WS_PATH

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if path != MARKETS_PATH:
            return None
        return 200, markets_body(self.listed)

    def rest_error(self, status: int) -> Any:
        return {"errors": [{"msg": "Too many requests" if status == 429 else "Internal error"}]}

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        conn = DydxConn(ws, frames.uuid_text(self.rng.getrandbits(128)))
        hello = self._message(conn, {"type": "connected"})
        await self._serve(conn, self._answer, hello=hello, watch=self._heartbeat(conn))

    def _message(self, conn: DydxConn, body: dict[str, Any]) -> bytes:
        head = {"type": body.pop("type"), "connection_id": conn.conn_id}
        head["message_id"] = 0 if head["type"] == "connected" else next(conn.message_ids)
        return frames.dumps({**head, **body})

    def _error(self, conn: DydxConn, message: str, market: object = None) -> None:
        body: dict[str, Any] = {"type": "error", "message": message}
        if market is not None:
            body.update(channel=CHANNEL, id=market)
        conn.send(self._message(conn, body), now_ms())

    def _answer(self, conn: DydxConn, message: str | bytes) -> None:
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict) or request.get("type") not in ("subscribe", "unsubscribe"):
            self._error(conn, f"Invalid message: could not parse {str(message)[:100]}")
            return
        market, op = request.get("id"), request["type"]
        if request.get("channel") != CHANNEL or not isinstance(market, str):
            self._error(conn, f"Invalid {op} request: channel or id", market)
        elif op == "unsubscribe":
            conn.markets.discard(market)
            self._changed()
            body = {"type": "unsubscribed", "channel": CHANNEL, "id": market}
            conn.send(self._message(conn, body), now_ms())
        elif market not in self.listed or market in self.options.refused:
            self.stats["subscribes_refused"] += 1
            self._error(conn, f"Invalid subscribe request: Invalid id: {market}", market)
        elif market in conn.markets:
            self._error(conn, f"Invalid subscribe request: already subscribed ({market})", market)
        elif len(conn.markets) >= MAX_TRADES_SUBSCRIPTIONS:
            self._error(conn, f"Invalid subscribe request: max subscriptions ({market})", market)
        else:
            self._subscribed(conn, market)

    def _subscribed(self, conn: DydxConn, market: str) -> None:
        past = list(self.history.get(market, ()))[::-1]  # newest first, as the REST trades
        body = {"type": "subscribed", "channel": CHANNEL, "id": market,
                "contents": {"trades": [p.trade for p in past]}}  # fmt: skip
        now = now_ms()
        if conn.send(self._message(conn, body), now):
            conn.markets.add(market)
            for p in past:
                if p.liq is not None and not p.seq:  # first delivery of a missed liquidation
                    p.seq = self._emitted(p.liq, 1, now)
            self._changed()

    async def _heartbeat(self, conn: DydxConn) -> None:
        opt = self.options
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(opt.ping_interval)
                if conn.stalled:
                    continue
                waiter = await conn.ws.ping()
                try:
                    await asyncio.wait_for(waiter, opt.pong_timeout)
                except TimeoutError:
                    self.stats["heartbeat_timeouts"] += 1
                    await conn.drop("close", 1011, "Heartbeat timeout")
                    return

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(c.live and isinstance(c, DydxConn) and c.markets for c in self.conns)

    def ready_for(self, venue: Venue) -> bool:
        markets = {m for c in self.conns if isinstance(c, DydxConn) and c.live for m in c.markets}
        return venue == VENUE and bool(self.listed) and set(self.listed) <= markets

    def _next_id(self, liq: Liquidation) -> str:
        digest = hashlib.sha256(f"{liq.inst.inst_id}|{liq.ts}|{next(self._ids)}".encode())
        return digest.hexdigest()[:24]

    def submit(self, liq: Liquidation) -> None:
        if self.options.dust_fraction and self.rng.random() < self.options.dust_fraction:
            liq = replace(liq, qty=DUST, usd=round_cents(notional(liq.inst, DUST, liq.price)))
        market = liq.inst.inst_id
        liquidated = trade(liq, self._next_id(liq))
        fill = ordinary_fill(liq, self._next_id(liq))
        past = self.history.setdefault(market, deque(maxlen=self.options.history))
        now = now_ms()
        payload = self._channel_data(market, [fill, liquidated])
        clients = self._send_to(market, payload, now)
        entry = _Past(liquidated, liq, self._emitted(liq, clients, now))
        past.extend((_Past(fill), entry))
        if entry.seq:
            self._remember(liq, entry.seq, partial(self._channel_data, market, [liquidated]))

    @staticmethod
    def _channel_data(market: str, trades: list[dict[str, Any]]) -> bytes:
        """The body (type, channel, id, version, contents); `_send_to` adds the head."""
        return frames.dumps({"channel": CHANNEL, "id": market, "version": "2.1.0",
                             "contents": {"trades": trades}})  # fmt: skip

    def _send_to(self, market: str, body: bytes, now: int) -> int:
        clients = 0
        for conn in self.conns:
            if isinstance(conn, DydxConn) and market in conn.markets:
                head = (
                    f'{{"type":"channel_data","connection_id":"{conn.conn_id}",'
                    f'"message_id":{next(conn.message_ids)},'
                )
                clients += conn.send(head.encode() + body[1:], now)
        return clients

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        assert frame is not None
        return self._send_to(liq.inst.inst_id, frame, now_ms)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        payload, label = broken_frame(rng, liq, kind, self._next_id(liq))
        now = now_ms()
        clients = self._send_to(liq.inst.inst_id, payload, now)
        self._malformed_emitted(liq.inst.venue, label, kind, liq, clients, now)


def broken_frame(
    rng: random.Random, liq: Liquidation, kind: str, trade_id: str
) -> tuple[bytes, str]:
    """A `channel_data` body whose one LIQUIDATED trade is broken (`malformed` kinds). A dYdX
    value needs no contract spec, so spec kinds become a missing field."""
    entry = trade(liq, trade_id)
    body: dict[str, Any] = {"channel": CHANNEL, "id": liq.inst.inst_id, "version": "2.1.0",
                            "contents": {"trades": [entry]}}  # fmt: skip
    if kind == "oversize":
        body["id"] = "X" * malformed.OVERSIZE_BYTES
        return frames.dumps(body), "X" * 16
    if kind in malformed.NEEDS_SPEC:
        kind = "missing_field"
    wrong_types: list[tuple[dict[str, Any], str, Any]] = [
        (entry, "size", float(liq.qty)), (entry, "createdAt", 17), (entry, "price", None),
        (body, "contents", "trades"),
    ]  # fmt: skip
    liq_fields = (entry, "size", "price", ["size", "price", "side", "createdAt", "id"])
    # the shared breakage of one field (the same rules as every venue's broken frames)
    return malformed._break_common(rng, kind, body, liq.inst.inst_id, wrong_types, liq_fields)


# --- the plug-in --------------------------------------------------------------------


def _servers(ctx: SimContext) -> list[VenueServer]:
    # a few dust fills among the liquidations: each must count, at $0.00
    options = DydxOptions(dust_fraction=0.02)
    return [DydxServer(ctx.ledger, ctx.catalog.by_venue[VENUE], options, ctx.rng("dydx"))]


PLUGIN = SimPlugin(
    exchange=EXCHANGE,
    venues=(VENUE,),
    ports={EXCHANGE: 9131},
    instruments=instruments,
    notional=notional,
    servers=_servers,
    weights={VENUE: 0.06},
    collector_env=collector_urls({EXCHANGE: WS_PATH}),
    spec_free=frozenset({VENUE}),
)
