"""Kraken Futures: WebSocket `/ws/v1` (`trade` feed) and `GET /derivatives/api/v3/instruments`.

Protocol, as Kraken documents it:
- on connect `{"event":"info","version":1}`;
- `{"event":"subscribe","feed":"trade","product_ids":[…]}` is acknowledged per product
  (`{"event":"subscribed","feed":"trade","product_ids":["PI_XBTUSD"]}`), each ack followed by a
  `trade_snapshot` of the product's recent trades — history, liquidations included (the quirk
  a collector must count once); an unknown product gets
  `{"event":"alert","message":"Couldn't subscribe to invalid product <id>"}`;
- trades are `{"feed":"trade","product_id","uid","side","type","seq","time","qty","price"}`
  with JSON-number `qty`/`price`; a liquidation has `type:"liquidation"` and `side` = the
  taker's (`sell` when a long is liquidated), next to ordinary `fill` trades;
- `PI_`/`FI_` (inverse) `qty` is contracts of `contractSize` USD, `PF_` (linear) `qty` is
  contracts of `contractSize` coins; Kraken calls bitcoin `XBT`;
- a connection without a ping (a protocol ping frame, or any message) for `idle_timeout`
  (Kraken: 60 s) is closed.

Ledger: as dYdX — a liquidation is recorded when a frame first carries it to a client, live or
inside a snapshot; liquidations nobody received wait in the product's history.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections import ChainMap, deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from liqmon.collector.frames import dump_part
from liqmon_sim import frames, malformed
from liqmon_sim.catalog import EXPIRY_CODE, Coin, Instrument, Venue, exponent, tick_for
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.venues.base import Conn, VenueServer, now_ms
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls

EXCHANGE = "kraken"
INVERSE: Venue = "kraken-inverse"
LINEAR: Venue = "kraken-linear"
WS_PATH = "/ws/v1"
INSTRUMENTS_PATH = "/derivatives/api/v3/instruments"
FEED = "trade"


@dataclass
class KrakenOptions:
    idle_timeout: float = 60.0
    history: int = 20  # trades per product in a `trade_snapshot`
    #: Products the instrument list shows but the WebSocket refuses (`subscribed_failed`).
    refused: frozenset[str] = frozenset()


def kraken_code(coin: str) -> str:
    return "XBT" if coin == "BTC" else coin


def instruments(coin: Coin) -> list[Instrument]:
    """Inverse `PI_<X>USD` (+ `FI_<X>USD_<expiry>`) for the coins Binance lists on COIN-M (flag
    `c`, `f`), linear `PF_<X>USD` for every coin OKX lists (flag `o`); contractSize 1."""
    code = kraken_code(coin.name)
    tick = tick_for(coin.price)
    pdec = max(0, -exponent(tick))
    names: list[tuple[str, Venue, float]] = []
    if "c" in coin.flags:
        names.append((f"PI_{code}USD", INVERSE, 0.2))
        if "f" in coin.flags:
            names.append((f"FI_{code}USD_{EXPIRY_CODE}", INVERSE, 0.03))
    if "o" in coin.flags:
        names.append((f"PF_{code}USD", LINEAR, 0.2))
    return [
        Instrument(
            venue, name, coin.name, "inverse" if venue == INVERSE else "linear", "USD",
            name.startswith("FI_"), 1, Decimal(1), Decimal(1), tick, pdec,
            Decimal(1) if venue == INVERSE else Decimal("0.001"), coin.weight * factor, code,
            f"{code}USD",
        )
        for name, venue, factor in names
    ]  # fmt: skip


def notional(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    if inst.venue == INVERSE:
        return qty * inst.contract_size  # USD contracts
    return qty * inst.contract_size * price


def instruments_body(listed: Mapping[str, Instrument], now: int) -> dict[str, Any]:
    rows = [
        {
            "symbol": name if name.startswith("PF_") else name.lower(),  # 2021: lower case
            "type": "futures_inverse" if inst.venue == INVERSE else "flexible_futures",
            "tickSize": float(inst.tick), "contractSize": int(inst.contract_size),
            "tradeable": True,
        }
        for name, inst in sorted(listed.items())
    ]  # fmt: skip
    return {"result": "success", "instruments": rows, "serverTime": f"{now}"}


def trade(liq: Liquidation, uid: str, seq: int, kind: str = "liquidation") -> dict[str, Any]:
    taker = "sell" if liq.side == "long" else "buy"
    if kind != "liquidation":
        taker = "buy" if taker == "sell" else "sell"
    return {
        "feed": FEED, "product_id": liq.inst.inst_id, "uid": uid, "side": taker, "type": kind,
        "seq": seq, "time": liq.ts, "qty": liq.qty, "price": liq.price,
    }  # fmt: skip


def encode(obj: Any) -> bytes:
    """JSON with `Decimal`s as numbers carrying exactly their digits (as Kraken writes them)."""
    return dump_part(obj).encode()


class KrakenConn(Conn):
    def __init__(self, ws: ServerConnection) -> None:
        super().__init__(ws)
        self.products: set[str] = set()
        self.last_ping_ms = self.opened_ms
        self.pings = 0
        original = ws.process_event

        def process_event(event: Any) -> None:  # sees protocol pings, which websockets answers
            if isinstance(event, Frame) and event.opcode is Opcode.PING:
                self.last_ping_ms = now_ms()
                self.pings += 1
            original(event)

        ws.process_event = process_event  # type: ignore[method-assign]


@dataclass
class _Past:
    trade: dict[str, Any]
    liq: Liquidation | None = None
    seq: int = 0


class KrakenServer(VenueServer):
    name = EXCHANGE
    venue = INVERSE  # also serves kraken-linear (see `served`)

    def __init__(
        self,
        ledger: Ledger,
        listed: Mapping[str, Instrument],
        options: KrakenOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(ledger)
        self.listed = listed
        self.options = options or KrakenOptions()
        self.rng = rng or random.Random(11)
        self.history: dict[str, deque[_Past]] = {}
        self._seq = itertools.count(1000)

    @property
    def served(self) -> tuple[Venue, ...]:
        return (INVERSE, LINEAR)

    def route(self, path: str) -> bool:
        return path.split("?", 1)[0] == WS_PATH

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if path != INSTRUMENTS_PATH:
            return None
        return 200, instruments_body(self.listed, now_ms())

    def rest_error(self, status: int) -> Any:
        return {"result": "error", "error": "apiLimitExceeded" if status == 429 else "Unavailable"}

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        conn = KrakenConn(ws)
        hello = orjson.dumps({"event": "info", "version": 1})
        await self._serve(conn, self._answer, hello=hello, watch=self._close_when_idle(conn))

    def _answer(self, conn: KrakenConn, message: str | bytes) -> None:
        conn.last_ping_ms = conn.last_client_ms  # any message counts as the client's ping
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            request = None
        now = now_ms()
        if not isinstance(request, dict) or request.get("event") not in (
            "subscribe", "unsubscribe",
        ):  # fmt: skip
            conn.send(orjson.dumps({"event": "error", "message": "Json Error"}), now)
            return
        products = request.get("product_ids")
        if request.get("feed") != FEED:
            conn.send(orjson.dumps({"event": "error", "message": "Invalid feed"}), now)
            return
        if not isinstance(products, list) or not products:
            conn.send(orjson.dumps({"event": "error", "message": "Invalid product id"}), now)
            return
        for product in products:
            self._one(conn, str(request["event"]), str(product), now)
        self._changed()

    def _one(self, conn: KrakenConn, op: str, product: str, now: int) -> None:
        if product not in self.listed:
            message = f"Couldn't subscribe to invalid product {product[:40]}"
            conn.send(orjson.dumps({"event": "alert", "message": message}), now)
            return
        if product in self.options.refused and op == "subscribe":
            self.stats["subscribes_refused"] += 1
            failed = {"event": "subscribed_failed", "feed": FEED, "product_ids": [product]}
            conn.send(orjson.dumps(failed), now)
            return
        ack = {"event": f"{op}d", "feed": FEED, "product_ids": [product]}
        if op == "unsubscribe":
            conn.products.discard(product)
            conn.send(orjson.dumps(ack), now)
            return
        past = list(self.history.get(product, ()))[::-1]  # newest first
        snapshot = {"feed": "trade_snapshot", "product_id": product,
                    "trades": [p.trade for p in past]}  # fmt: skip
        if conn.send(orjson.dumps(ack), now) and conn.send(encode(snapshot), now):
            conn.products.add(product)
            for p in past:
                if p.liq is not None and not p.seq:  # first delivery of a missed liquidation
                    p.seq = self._emitted(p.liq, 1, now)

    async def _close_when_idle(self, conn: KrakenConn) -> None:
        limit = self.options.idle_timeout
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(min(1.0, limit / 10))
                if not conn.stalled and now_ms() - conn.last_ping_ms > limit * 1000:
                    self.stats["idle_closes"] += 1
                    await conn.drop("close", 1000, "no ping")
                    return

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(c.live and isinstance(c, KrakenConn) and c.products for c in self.conns)

    def has_audience_for(self, venue: Venue) -> bool:
        return any(
            c.live and isinstance(c, KrakenConn)
            and any(self.listed[p].venue == venue for p in c.products if p in self.listed)
            for c in self.conns
        )  # fmt: skip

    def ready_for(self, venue: Venue) -> bool:
        listed = {p for p, inst in self.listed.items() if inst.venue == venue}
        products = {
            p for c in self.conns if isinstance(c, KrakenConn) and c.live for p in c.products
        }
        return bool(listed) and listed <= products

    def submit(self, liq: Liquidation) -> None:
        product = liq.inst.inst_id
        past = self.history.setdefault(product, deque(maxlen=self.options.history))
        fill = trade(liq, frames.uuid_text(self.rng.getrandbits(128)), next(self._seq), "fill")
        liquidated = trade(liq, frames.uuid_text(self.rng.getrandbits(128)), next(self._seq))
        now = now_ms()
        self._send_to(product, encode(fill), now)
        frame = encode(liquidated)
        entry = _Past(liquidated, liq, self._emitted(liq, self._send_to(product, frame, now), now))
        past.extend((_Past(fill), entry))
        if entry.seq:
            self._remember(liq, entry.seq, frame)

    def _send_to(self, product: str, payload: bytes, now: int) -> int:
        return sum(
            conn.send(payload, now)
            for conn in self.conns
            if isinstance(conn, KrakenConn) and product in conn.products
        )

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        assert frame is not None
        return self._send_to(liq.inst.inst_id, frame, now_ms)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        entry = trade(liq, frames.uuid_text(rng.getrandbits(128)), next(self._seq))
        if kind == "oversize":
            entry["product_id"] = "X" * malformed.OVERSIZE_BYTES
            payload, label = encode(entry), "X" * 16
        else:
            if kind in malformed.NEEDS_SPEC:  # an unknown product would be held, not refused
                kind = "missing_field"
            wrong_types: list[tuple[dict[str, Any], str, Any]] = [
                (entry, "qty", True), (entry, "time", "soon"), (entry, "price", None),
                (entry, "uid", 17),
            ]  # fmt: skip
            fields = (entry, "qty", "price", ["qty", "price", "side", "time", "uid"])
            # the shared breakage of one field; JSON numbers turned to text stay broken
            for key in ("qty", "price"):
                entry[key] = format(entry[key], "f")
            payload, label = malformed._break_common(
                rng, kind, entry, liq.inst.inst_id, wrong_types, fields
            )
        now = now_ms()
        clients = self._send_to(liq.inst.inst_id, payload, now)
        self._malformed_emitted(liq.inst.venue, label, kind, liq, clients, now)


# --- the plug-in --------------------------------------------------------------------


def _servers(ctx: SimContext) -> list[VenueServer]:
    # one product-id table over both simulator venues, live (a listing added later shows)
    listed = ChainMap(ctx.catalog.by_venue[INVERSE], ctx.catalog.by_venue[LINEAR])
    return [KrakenServer(ctx.ledger, listed, KrakenOptions(), ctx.rng("kraken"))]


PLUGIN = SimPlugin(
    exchange=EXCHANGE,
    venues=(INVERSE, LINEAR),
    ports={EXCHANGE: 9132},
    instruments=instruments,
    notional=notional,
    servers=_servers,
    weights={INVERSE: 0.03, LINEAR: 0.03},
    collector_env=collector_urls({EXCHANGE: WS_PATH}),
)
