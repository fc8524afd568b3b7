"""BitMEX realtime WebSocket (`liquidation`, `instrument:XBTUSD`) and `/api/v1/instrument/active`.

One server, one port: `/realtime` (WebSocket) and the REST route. On connect the welcome
(`{"info":"Welcome to the BitMEX Realtime API.",…,"heartbeatEnabled":false}`); a request
`{"op":"subscribe","args":[…]}` gets one ack per topic (`{"success":true,"subscribe":topic,
"request":…}`) followed by that table's `partial`; an unknown topic gets
`{"success":false,"error":"Unknown table: …","status":400}`, text that is not JSON the 400
error of the 2024 recording. Text `ping` is answered `pong`; nothing is sent on a quiet table.

The liquidation table is a book of resting liquidation ORDERS with BitMEX's lifecycle:
- a liquidation arrives as an `insert` (`orderID`, `symbol`, `side` = the order side: a long
  is liquidated by a `Sell`, `price`, `leavesQty` in contracts) - unless an order of the same
  instrument and side rests unfilled, in which case the engine merges it: an `update` that
  raises `leavesQty` by the new contracts at the new price (BitMEX's growing updates);
- a resting order is then filled in steps (`update`s lowering `leavesQty`), sometimes
  re-priced (`update` with `price` only), and finally `delete`d. Once it fills, nothing is
  merged into it any more: the recorded growths happen on unfilled orders, and the
  collector's rule (count an increase above the most it counted) is exact only there.
The ledger records each insert and each growth (what the collector must count). A client
subscribing while orders rest gets them in the `partial`; what those rows add beyond what
the ledger already holds for them (their insert or growth reached nobody) is recorded then.
No frame carries a time: the ledger's `ts` is the emission time.

Units (what the REST list says and the ledger values with, independently of the collector):
XBTUSD inverse, 1 USD per contract (`multiplier` -10⁸); `<COIN>USDT` linear, `leavesQty ÷
underlyingToPositionMultiplier` coins; `<COIN>USD` quanto (XBT-settled), `leavesQty ×
multiplier × XBT/USD ÷ 10⁸` coins, with the XBT/USD price this server publishes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.server import ServerConnection

from liqmon_sim import frames, malformed
from liqmon_sim.catalog import Catalog, Coin, Instrument, Venue, decimals, pow10, tick_for
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation, round_cents
from liqmon_sim.venues.base import Conn, VenueServer, now_ms, text_of
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls

WS_PATH = "/realtime"
REST_PATH = "/api/v1/instrument/active"
VENUES: tuple[Venue, ...] = ("bitmex-inverse", "bitmex-linear", "bitmex-quanto")
TOPICS = ("liquidation", "instrument:XBTUSD")
SATOSHI = Decimal(100_000_000)
UNRECOGNIZED = "Unrecognized request. See the docs or send 'help' for more details."
#: The XBT/USD price the server publishes (XBTUSD `markPrice`, REST and the `instrument`
#: table) and values quanto contracts with; fixed, so ledger and collector agree exactly.
XBT_USD = Decimal("82011.5")
WELCOME = {
    "info": "Welcome to the BitMEX Realtime API.", "version": "2.0.0",
    "docs": "https://www.bitmex.com/app/wsAPI", "heartbeatEnabled": False,
}  # fmt: skip
LIQUIDATION_TYPES = {
    "orderID": "guid", "symbol": "symbol", "side": "symbol", "price": "float", "leavesQty": "long",
}  # fmt: skip


def instruments(coin: Coin) -> list[Instrument]:
    """XBTUSD (inverse, lots of 100) for BTC; `<COIN>USDT` (linear) for coins Binance lists on
    COIN-M (flag `c`); `<COIN>USD` (quanto) for the other coins OKX lists inverse (flag `i`).
    `extra` holds the REST fields the units follow from (`multiplier`, `upm`)."""
    root = "XBT" if coin.name == "BTC" else coin.name
    rows: list[tuple[Venue, str, str, Decimal, dict[str, str]]] = []
    if coin.name == "BTC":
        rows.append(("bitmex-inverse", "XBTUSD", "USD", pow10(2), {"multiplier": "-100000000"}))
    if "c" in coin.flags:
        upm = pow10(math.ceil(math.log10(coin.price * 10)))  # ~0.01-0.1 USD per contract
        extra = {"multiplier": "1", "upm": format(upm, "f")}
        rows.append(("bitmex-linear", f"{root}USDT", "USDT", Decimal(1), extra))
    if "i" in coin.flags and coin.name != "BTC":
        per_contract = 10 * float(SATOSHI) / (float(XBT_USD) * coin.price)  # ~10 USD
        mult = Decimal(100) if coin.name == "ETH" else pow10(round(math.log10(per_contract)))
        rows.append(("bitmex-quanto", f"{root}USD", "USD", Decimal(1),
                     {"multiplier": format(mult, "f")}))  # fmt: skip
    tick = tick_for(coin.price)
    return [
        Instrument(
            venue, symbol, coin.name, "linear" if venue == "bitmex-linear" else "inverse", quote,
            False, 1, Decimal(1), Decimal(1), tick, decimals(tick), lot, coin.weight, root,
            symbol, extra=extra,
        )
        for venue, symbol, quote, lot, extra in rows
    ]  # fmt: skip


def coins_per_contract(inst: Instrument) -> Decimal:
    if inst.venue == "bitmex-linear":
        return 1 / Decimal(inst.extra["upm"])
    return Decimal(inst.extra["multiplier"]) * XBT_USD / SATOSHI  # quanto


def notional(inst: Instrument, contracts: Decimal, price: Decimal) -> Decimal:
    """Exact USD value of `contracts` at `price`, in the simulator's own terms."""
    if inst.venue == "bitmex-inverse":
        return contracts * abs(Decimal(inst.extra["multiplier"])) / SATOSHI
    return contracts * coins_per_contract(inst) * price


def rest_instrument(inst: Instrument) -> dict[str, Any]:
    """An `/api/v1/instrument/active` object with the fields the rules use (real names)."""
    upm = inst.extra.get("upm")
    return {
        "symbol": inst.inst_id, "rootSymbol": inst.base_asset, "state": "Open", "typ": "FFWCSX",
        "underlying": inst.base_asset, "quoteCurrency": inst.quote,
        "settlCurrency": "USDt" if inst.venue == "bitmex-linear" else "XBt",
        "isInverse": inst.venue == "bitmex-inverse", "isQuanto": inst.venue == "bitmex-quanto",
        "multiplier": int(inst.extra["multiplier"]), "lotSize": int(inst.lot),
        "underlyingToPositionMultiplier": int(upm) if upm else None,
        "tickSize": float(inst.tick),
        "markPrice": float(XBT_USD) if inst.inst_id == "XBTUSD" else None,
    }  # fmt: skip


@dataclass
class BitmexOptions:
    merge_probability: float = 0.3  # a liquidation joins a resting unfilled order
    fill_delay_ms: int = 300  # an order starts filling this long after its last growth
    step_ms: int = 100  # then one lifecycle step (fill / re-price / delete) this often
    topics: tuple[str, ...] = TOPICS  # the tables it serves (others are refused)


@dataclass
class _Order:
    order_id: str
    liq: Liquidation  # the inserting liquidation (instrument, side)
    price: Decimal
    leaves: Decimal
    recorded: Decimal  # contracts the ledger holds for this order (delivered insert + growths)
    next_ms: int
    filling: bool = False
    steps: int = 0


class BitmexConn(Conn):
    def __init__(self, ws: ServerConnection) -> None:
        super().__init__(ws)
        self.topics: set[str] = set()


class BitmexServer(VenueServer):
    name = "bitmex"
    venue: Venue = "bitmex-inverse"  # also serves bitmex-linear and bitmex-quanto

    def __init__(
        self, ledger: Ledger, catalog: Catalog, options: BitmexOptions, rng: random.Random
    ) -> None:
        super().__init__(ledger)
        self.catalog = catalog
        self.options = options
        self.rng = rng  # order ids and lifecycle steps
        self.book: dict[str, _Order] = {}
        self.unfilled: dict[tuple[str, str], _Order] = {}  # (symbol, side) -> mergeable order

    @property
    def served(self) -> tuple[Venue, ...]:
        return VENUES

    def background(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [("bitmex-lifecycle", self.lifecycle())]

    def route(self, path: str) -> bool:
        return path.split("?", 1)[0] == WS_PATH

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if path != REST_PATH:
            return None
        now = now_ms()
        listed = [i for v in VENUES for i in self.catalog.rest_visible(v, now)]
        return 200, [rest_instrument(i) for i in listed]

    def rest_error(self, status: int) -> Any:
        message = "Rate limit exceeded" if status == 429 else "Server error"
        return {"error": {"message": message, "name": "HTTPError"}}

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        welcome = orjson.dumps({**WELCOME, "timestamp": _iso(now_ms())})
        await self._serve(BitmexConn(ws), self._answer, hello=welcome)

    def _answer(self, conn: BitmexConn, message: str | bytes) -> list[bytes]:
        text = text_of(message)
        if text == "ping":
            self.stats["pings"] += 1
            return [b"pong"]
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict) or request.get("op") != "subscribe":
            echo = request if isinstance(request, dict) else {}
            return [
                orjson.dumps({"status": 400, "error": UNRECOGNIZED, "meta": {}, "request": echo})
            ]
        args = request.get("args")
        replies = []
        for topic in args if isinstance(args, list) else [args]:
            if topic not in self.options.topics:
                error = f"Unknown table: {topic}"
                refusal = {"success": False, "status": 400, "error": error, "request": request}
                replies.append(orjson.dumps(refusal))
                continue
            conn.topics.add(str(topic))
            replies.append(orjson.dumps({"success": True, "subscribe": topic, "request": request}))
            replies.append(self._partial(str(topic)))
        self._changed()
        return replies

    def _partial(self, topic: str) -> bytes:
        if topic != "liquidation":
            row = {"symbol": "XBTUSD", "markPrice": XBT_USD, "state": "Open"}
            return frames.dumps(
                {"table": "instrument", "action": "partial", "keys": ["symbol"], "data": [row]}
            )
        rows, now = [], now_ms()
        for order in self.book.values():
            rows.append(self._row(order, with_price=True, with_side=True))
            missing = order.leaves - order.recorded
            if missing > 0:  # an insert or growth that reached nobody: counted from this row
                self.stats["snapshot_recorded"] += 1
                self._record(order, missing, now, clients=1)
        return frames.dumps({
            "table": "liquidation", "action": "partial", "keys": ["orderID"],
            "types": LIQUIDATION_TYPES, "filter": {}, "data": rows,
        })  # fmt: skip

    @staticmethod
    def _row(
        order: _Order, *, with_price: bool = False, with_side: bool = False, with_qty: bool = True
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"orderID": order.order_id, "symbol": order.liq.inst.inst_id}
        if with_side:
            row["side"] = "Sell" if order.liq.side == "long" else "Buy"
        if with_price:
            row["price"] = order.price
        if with_qty:
            row["leavesQty"] = order.leaves
        return row

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(
            c.live and isinstance(c, BitmexConn) and "liquidation" in c.topics for c in self.conns
        )

    def submit(self, liq: Liquidation) -> None:
        now = now_ms()
        key = (liq.inst.inst_id, liq.side)
        order = self.unfilled.get(key)
        if order is not None and self.rng.random() < self.options.merge_probability:
            order.leaves += liq.qty
            order.price = liq.price
            order.next_ms = now + self.options.fill_delay_ms
            frame = self._frame("update", self._row(order, with_price=True))
            self.stats["growths"] += 1
            self._deliver(order, liq, frame, now)
            return
        order = _Order(
            self._order_id(), liq, liq.price, liq.qty, Decimal(0), now + self.options.fill_delay_ms
        )
        self.book[order.order_id] = order
        self.unfilled[key] = order
        frame = self._frame("insert", self._row(order, with_price=True, with_side=True))
        self.stats["inserts"] += 1
        self._deliver(order, liq, frame, now)

    def _deliver(self, order: _Order, liq: Liquidation, frame: bytes, now: int) -> None:
        clients = self._broadcast(frame, now)
        liq.ts, liq.price = now, order.price
        if clients:
            seq = self._record(order, liq.qty, now, clients, liq)
            self._remember(liq, seq, frame)
        else:
            self.stats["undelivered"] += 1

    def _record(
        self, order: _Order, contracts: Decimal, now: int, clients: int,
        liq: Liquidation | None = None,
    ) -> int:  # fmt: skip
        """Ledger entry for `contracts` more of `order` (its insert or a growth)."""
        inst = order.liq.inst
        usd = round_cents(notional(inst, contracts, order.price))
        base = liq or order.liq
        entry = Liquidation(
            inst, order.liq.side, contracts, order.price, now, usd, order.price, contracts,
            run=base.run,
        )  # fmt: skip
        order.recorded += contracts
        return self._emitted(entry, clients, now)

    def _broadcast(self, frame: bytes, now: int) -> int:
        return sum(
            conn.send(frame, now)
            for conn in self.conns
            if isinstance(conn, BitmexConn) and "liquidation" in conn.topics
        )

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        assert frame is not None
        return self._broadcast(frame, now_ms)

    def _order_id(self) -> str:
        return frames.uuid_text(self.rng.getrandbits(128), version4=True)

    @staticmethod
    def _frame(action: str, row: dict[str, Any]) -> bytes:
        return frames.dumps({"table": "liquidation", "action": action, "data": [row]})

    async def lifecycle(self) -> None:
        """Fill, re-price and delete resting orders (none of which counts)."""
        while True:
            await asyncio.sleep(self.options.step_ms / 1000)
            self.step(now_ms())

    def step(self, now: int) -> None:
        for order in [o for o in self.book.values() if o.next_ms <= now]:
            if not order.filling:
                order.filling = True  # nothing merges into it from now on
                key = (order.liq.inst.inst_id, order.liq.side)
                if self.unfilled.get(key) is order:
                    del self.unfilled[key]
            order.steps += 1
            order.next_ms = now + self.options.step_ms
            lot = order.liq.inst.lot
            if order.steps > 3 or order.leaves <= lot:
                del self.book[order.order_id]
                self._broadcast(self._frame("delete", self._row(order, with_qty=False)), now)
            elif self.rng.random() < 0.25:
                order.price += order.liq.inst.tick
                self._broadcast(
                    self._frame("update", self._row(order, with_price=True, with_qty=False)), now
                )
            else:
                order.leaves -= max(lot, (order.leaves / 3 // lot) * lot)
                self._broadcast(self._frame("update", self._row(order)), now)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        row: dict[str, Any] = {
            "orderID": self._order_id(), "symbol": liq.inst.inst_id,
            "side": "Sell" if liq.side == "long" else "Buy", "price": liq.price,
            "leavesQty": liq.qty,
        }  # fmt: skip
        push: dict[str, Any] = {"table": "liquidation", "action": "insert", "data": [row]}
        if kind == "oversize":
            row["orderID"] = "X" * malformed.OVERSIZE_BYTES
            payload, label = frames.dumps(push), "X" * 16
        else:
            wrong_types: list[malformed._Mutation] = [
                (row, "leavesQty", "many"), (row, "price", None), (push, "data", "liquidation"),
                (row, "side", 1),
            ]  # fmt: skip
            fields = (
                row,
                "leavesQty",
                "price",
                ["orderID", "side", "price", "leavesQty", "symbol"],
            )
            kind = kind if kind not in malformed.NEEDS_SPEC else "missing_field"
            payload, label = malformed._break_common(
                rng, kind, push, liq.inst.inst_id, wrong_types, fields
            )
        now = now_ms()
        clients = self._broadcast(payload, now)
        self._malformed_emitted(liq.inst.venue, label, kind, liq, clients, now)


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _servers(ctx: SimContext) -> list[VenueServer]:
    return [BitmexServer(ctx.ledger, ctx.catalog, BitmexOptions(), ctx.rng("bitmex"))]


PLUGIN = SimPlugin(
    exchange="bitmex",
    venues=VENUES,
    ports={"bitmex": 9107},
    instruments=instruments,
    notional=notional,
    servers=_servers,
    collector_env=collector_urls({"bitmex": WS_PATH}),
    weights={"bitmex-inverse": 0.03, "bitmex-linear": 0.01, "bitmex-quanto": 0.01},
)
