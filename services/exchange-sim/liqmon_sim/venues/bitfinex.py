"""Bitfinex public WebSocket v2 (`/ws/2`), status channel `liq:global`. No REST is needed.

Protocol, as Bitfinex documents it:
- on connect `{"event":"info","version":2,"serverId":…,"platform":{"status":1}}`;
- `{"event":"conf","flags":N}` -> `{"event":"conf","status":"OK","flags":N}`; with `SEQ_ALL`
  (65536) every channel frame gets a trailing sequence number, with `TIMESTAMP` (32768) a
  trailing ms timestamp;
- `{"event":"subscribe","channel":"status","key":"liq:global"}` -> `{"event":"subscribed",
  "channel":"status","chanId":N,"key":"liq:global"}` (a fresh `chanId` each time), then first
  a snapshot `[N,[[record],…]]` of recent records, then updates `[N,[[record]]]` and
  heartbeats `[N,"hb"]` every `hb_interval`; `{"event":"ping","cid":C}` -> `pong`;
- a liquidated position is one trigger record (`IS_MATCH` 0, `AMOUNT` = the whole signed
  position: > 0 long, any size) and a match record (`IS_MATCH` 1, part of it) that is sent
  first at times (`match_first_fraction`); prices are JSON numbers; `BASE_PRICE` is the entry
  price the notional uses (`|AMOUNT| × BASE_PRICE`);
- records of spot-margin pairs (`tBSVUSD`) and BTC-quoted perpetuals appear on the same
  channel (`noise_fraction`): not USD-perpetual liquidations, never in the ledger.

Ledger: a liquidation is recorded when its trigger record first reaches a client, live or in
a snapshot; one nobody received waits in the history for the next subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from liqmon.collector.frames import dump_part
from liqmon_sim import frames, malformed
from liqmon_sim.catalog import Coin, Instrument, Venue, exponent, tick_for
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.venues.base import Conn, VenueServer, now_ms
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls

EXCHANGE = "bitfinex"
VENUE: Venue = "bitfinex"
WS_PATH = "/ws/2"
KEY = "liq:global"
SEQ_ALL, TIMESTAMP = 65536, 32768
#: Bitfinex's own codes for some coins (the collector maps them back).
CODES = {"ATOM": "ATO", "DASH": "DSH", "IOTA": "IOT", "ALGO": "ALG"}


@dataclass
class BitfinexOptions:
    hb_interval: float = 15.0
    history: int = 40  # records in the snapshot after subscribing
    match_first_fraction: float = 0.3
    noise_fraction: float = 0.0  # margin-pair / BTC-quoted records next to liquidations


def instruments(coin: Coin) -> list[Instrument]:
    """`t<CODE>F0:USTF0` perpetuals for the coins Binance lists on COIN-M (flag `c`)."""
    if "c" not in coin.flags:
        return []
    code = CODES.get(coin.name, coin.name)
    tick = tick_for(coin.price)
    return [
        Instrument(
            VENUE, f"t{code}F0:USTF0", coin.name, "linear", "USDT", False, 1, Decimal(1),
            Decimal(1), tick, max(0, -exponent(tick)), Decimal("0.00001"), coin.weight * 0.1,
            code, f"{code}F0:USTF0",
        )
    ]  # fmt: skip


def notional(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    """|AMOUNT| coins at BASE_PRICE (USDt counted 1:1)."""
    del inst
    return qty * price


def record(liq: Liquidation, pos_id: int, is_match: int, amount: Decimal) -> list[Any]:
    signed = amount if liq.side == "long" else -amount
    liquidation_price = liq.limit_price if is_match else None
    return ["pos", pos_id, liq.ts, None, liq.inst.inst_id, signed, liq.price, None, is_match,
            1, None, liquidation_price]  # fmt: skip


class BitfinexConn(Conn):
    def __init__(self, ws: ServerConnection) -> None:
        super().__init__(ws)
        self.chan_id = 0  # 0 until subscribed
        self.flags = 0
        self.seq = itertools.count(1)


class BitfinexServer(VenueServer):
    name = EXCHANGE
    venue = VENUE

    def __init__(
        self,
        ledger: Ledger,
        listed: dict[str, Instrument],
        options: BitfinexOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(ledger)
        self.listed = listed
        self.options = options or BitfinexOptions()
        self.rng = rng or random.Random(13)
        #: [record, the liquidation a trigger carries (None for a match), ledger seq or 0],
        #: in wire order
        self.history: deque[list[Any]] = deque(maxlen=self.options.history)
        self._pos_ids = itertools.count(143_000_000)
        self._chan_ids = itertools.count(386_841)

    def route(self, path: str) -> bool:
        return path.split("?", 1)[0] == WS_PATH

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        return None  # the collector needs no REST

    def rest_error(self, status: int) -> Any:
        return ["error", 10000, "ERR_RATE_LIMIT" if status == 429 else "ERR_GENERIC"]

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        conn = BitfinexConn(ws)
        server_id = frames.uuid_text(self.rng.getrandbits(128))
        info = {"event": "info", "version": 2, "serverId": server_id, "platform": {"status": 1}}
        await self._serve(conn, self._answer, hello=orjson.dumps(info), watch=self._heartbeat(conn))

    def _answer(self, conn: BitfinexConn, message: str | bytes) -> None:
        try:
            parsed = orjson.loads(message)
        except orjson.JSONDecodeError:
            parsed = None
        request: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        event = request.get("event")
        now = now_ms()
        reply: dict[str, Any]
        if event == "ping":
            reply = {"event": "pong", "ts": now, "cid": request.get("cid")}
        elif event == "conf" and isinstance(request.get("flags"), int):
            conn.flags = request["flags"]
            reply = {"event": "conf", "status": "OK", "flags": conn.flags}
        elif event == "subscribe" and request.get("channel") == "status":
            if request.get("key") != KEY or conn.chan_id:
                reply = {"event": "error", "msg": "subscribe: dup", "code": 10301}
            else:
                self._subscribe(conn, now)
                return
        else:
            reply = {"event": "error", "msg": "Unknown event", "code": 10000}
        conn.send(orjson.dumps(reply), now)

    def _subscribe(self, conn: BitfinexConn, now: int) -> None:
        conn.chan_id = next(self._chan_ids)
        ack = {"event": "subscribed", "channel": "status", "chanId": conn.chan_id, "key": KEY}
        past = list(self.history)
        snapshot = self._frame(conn, [entry[0] for entry in past])
        if conn.send(orjson.dumps(ack), now) and conn.send(snapshot, now):
            for entry in past:
                if entry[1] is not None and not entry[2]:  # a missed liquidation's trigger
                    entry[2] = self._emitted(entry[1], 1, now)
            self._changed()

    def _frame(self, conn: BitfinexConn, body: Any) -> bytes:
        members: list[Any] = [conn.chan_id, body]
        if conn.flags & SEQ_ALL:
            members.append(next(conn.seq))
        if conn.flags & TIMESTAMP:
            members.append(now_ms())
        return dump_part(members).encode()

    async def _heartbeat(self, conn: BitfinexConn) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.options.hb_interval)
                if conn.chan_id:
                    conn.send(self._frame(conn, "hb"), now_ms())

    def announce_restart(self) -> int:
        """`info` 20051 ("Stop/Restart Websocket Server: please reconnect") to every client;
        the server keeps serving, so a client that does not move keeps working too."""
        now = now_ms()
        notice = {"event": "info", "code": 20051, "msg": "Stopping. Please try to reconnect"}
        sent = sum(conn.send(orjson.dumps(notice), now) for conn in self.conns)
        self.stats["restart_notices"] += sent
        return sent

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(c.live and isinstance(c, BitfinexConn) and c.chan_id for c in self.conns)

    def ready_for(self, venue: Venue) -> bool:
        return venue == VENUE and self.has_audience()  # one channel carries every pair

    def _broadcast(self, records: list[list[Any]], now: int) -> int:
        return sum(
            conn.send(self._frame(conn, records), now)
            for conn in self.conns
            if isinstance(conn, BitfinexConn) and conn.chan_id
        )

    def submit(self, liq: Liquidation) -> None:
        pos_id = next(self._pos_ids)
        trigger = record(liq, pos_id, 0, liq.qty)
        part = (liq.qty / 2).quantize(liq.inst.lot) or liq.qty
        match = record(liq, pos_id, 1, part)
        match_first = self.rng.random() < self.options.match_first_fraction
        now = now_ms()
        if match_first:
            self._broadcast([match], now)
        entry: list[Any] = [trigger, liq, self._emitted(liq, self._broadcast([trigger], now), now)]
        if not match_first:
            self._broadcast([match], now)
        pair = [match, None, 0]
        self.history.extend((pair, entry) if match_first else (entry, pair))
        if entry[2]:
            self._remember(liq, entry[2], None)
        if self.options.noise_fraction and self.rng.random() < self.options.noise_fraction:
            self._noise(liq, now)

    def _noise(self, liq: Liquidation, now: int) -> None:
        """A margin-pair and a BTC-quoted perpetual record: no USD-perpetual liquidation."""
        for symbol in ("tBSVUSD", f"t{liq.inst.base_asset}F0:BTCF0"):
            other = record(liq, next(self._pos_ids), 0, liq.qty)
            other[4] = symbol
            self._broadcast([other], now)

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        """The trigger again, unchanged (frames are per connection: sequence numbers)."""
        entry = next((e for e in self.history if e[1] is liq), None)
        if entry is None:
            return 0
        return self._broadcast([entry[0]], now_ms)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        bad = record(liq, next(self._pos_ids), 0, liq.qty)
        label = liq.inst.inst_id
        if kind == "oversize":
            bad[4], label = "t" + "X" * malformed.OVERSIZE_BYTES + "F0:USTF0", "X" * 16
        elif kind == "invalid_json":
            bad[1] = "]"  # a frame cut short: see below
        elif kind == "wrong_type":
            bad[rng.choice((1, 5, 6))] = rng.choice(("x", None, True))
        elif kind in ("negative", "zero", "nan", "huge"):
            index = 6 if kind == "negative" else rng.choice((5, 6))
            bad[index] = {"negative": -abs(liq.price), "zero": 0, "nan": "NaN",
                          "huge": Decimal("1E+300")}[kind]  # fmt: skip
        else:  # missing_field and the spec kinds (no spec is needed here)
            kind = "missing_field" if kind in malformed.NEEDS_SPEC else kind
            del bad[rng.choice((1, 2, 5, 6))]
            del bad[8:]  # IS_MATCH and everything after it gone: the record is short
        now = now_ms()
        clients = 0
        for conn in self.conns:
            if isinstance(conn, BitfinexConn) and conn.chan_id:
                payload = self._frame(conn, [bad])
                if kind == "invalid_json":
                    payload = payload[: rng.randint(5, len(payload) - 2)]
                clients += conn.send(payload, now)
        self._malformed_emitted(liq.inst.venue, label, kind, liq, clients, now)


# --- the plug-in --------------------------------------------------------------------


def _servers(ctx: SimContext) -> list[VenueServer]:
    # matches sent before their trigger at times, and other pairs' records now and then
    options = BitfinexOptions(match_first_fraction=0.3, noise_fraction=0.05)
    listed = ctx.catalog.by_venue[VENUE]
    return [BitfinexServer(ctx.ledger, listed, options, ctx.rng("bitfinex"))]


PLUGIN = SimPlugin(
    exchange=EXCHANGE,
    venues=(VENUE,),
    ports={EXCHANGE: 9133},
    instruments=instruments,
    notional=notional,
    servers=_servers,
    weights={VENUE: 0.02},
    collector_env=collector_urls({EXCHANGE: WS_PATH}, rest=False),
    spec_free=frozenset({VENUE}),
)
