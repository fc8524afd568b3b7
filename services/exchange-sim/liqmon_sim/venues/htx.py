"""HTX order-push notifications (`public.*.liquidation_orders`) and the contract-info lists.

One server, one port, both products: `/linear-swap-notification` (`htx-linear`: USDT-M
swaps `BTC-USDT` and quarterly futures `BTC-USDT-261225`) and `/swap-notification`
(`htx-inverse`: coin-M swaps `BTC-USD`). As the real venue:

- every frame the server sends is GZIP-compressed binary (acks, pings, pushes);
- `{"op":"sub","cid":…,"topic":"public.*.liquidation_orders"}` (or one contract) is acked
  `{"op":"sub","cid":…,"topic":…,"ts":…,"err-code":0}`; an unknown contract gets 2011, a
  second subscription after the wildcard 2014 "Repeated subscription.". On the USDT-M
  endpoint the wildcard covers swaps only unless the request says `business_type: all`;
- the server pings every `ping_interval` (real: 5 s) with `{"op":"ping","ts":"<ms>"}` (a
  string, as recorded in 2026) and, after `max_missed` (real: 5) pings without a pong echoing
  the same `ts`, sends `{"op":"close"}` and closes the socket ("Bye");
- liquidations are pushed as they happen (HTX documents no throttling) as
  `{"op":"notify",…,"data":[…]}` with JSON numbers: `volume` contracts, `price`,
  `created_at`; USDT-M frames also carry `amount` (coins) and `trade_turnover`, coin-M
  frames do not (2020 recordings). `data[]` is an array of the topic's one contract: the
  liquidations of one contract submitted in the same turn of the simulator's event loop (a
  cluster, a crash's BTC) go out together in one push of up to `MAX_PER_PUSH` elements, at
  the end of that turn (one dumps, one gzip, one frame, not one each); a re-sent duplicate
  is one liquidation's push, as it first went out but alone.

REST: `GET /linear-swap-api/v1/swap_contract_info[?business_type=swap|futures|all]` (swaps
only by default) and `GET /swap-api/v1/swap_contract_info`, `contract_size` printed with 18
decimals as the real responses do.
"""

from __future__ import annotations

import asyncio
import math
import random
import zlib
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Final

import orjson
from websockets.asyncio.server import ServerConnection

from liqmon_sim.catalog import EXPIRY_CODE, Coin, Instrument, Venue, decimals, pow10, tick_for
from liqmon_sim.frames import dumps_numbers as dumps
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.venues.base import Conn, VenueServer, now_ms
from liqmon_sim.venues.htx_frames import alone, contract_info, entry, gzip, malformed, push
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls

PATHS: Final[dict[str, Venue]] = {
    "/linear-swap-notification": "htx-linear",
    "/swap-notification": "htx-inverse",
}
WILDCARD: Final = "public.*.liquidation_orders"
CONTRACT_INFO: Final[dict[str, Venue]] = {
    "/linear-swap-api/v1/swap_contract_info": "htx-linear",
    "/swap-api/v1/swap_contract_info": "htx-inverse",
}
#: The most liquidations one push carries (a longer same-contract run is split): a few tens
#: of KB of JSON at most, and the saving per liquidation is spent long before that.
MAX_PER_PUSH = 50


@dataclass
class HtxOptions:
    ping_interval: float = 5.0
    max_missed: int = 5
    #: False: a subscription naming `business_type` is refused (2040), as a venue that
    #: does not know the field might
    business_type_ok: bool = True


class HtxConn(Conn):
    binary = True

    def __init__(self, ws: ServerConnection, venue: Venue) -> None:
        super().__init__(ws)
        self.venue = venue
        self.wildcard = False
        self.futures_too = venue == "htx-inverse"  # coin-M: the wildcard covers every swap
        self.contracts: set[str] = set()
        self.unanswered: list[str] = []  # ts of pings without a pong

    def send(self, payload: bytes, now_ms: int) -> bool:
        return super().send(gzip(payload), now_ms)

    def send_gzipped(self, packed: bytes, now_ms: int) -> bool:
        """A push already compressed once for every connection it goes to."""
        return super().send(packed, now_ms)

    def wants(self, inst: Instrument) -> bool:
        if inst.inst_id in self.contracts:
            return True
        return self.wildcard and (self.futures_too or not inst.delivery)


class HtxServer(VenueServer):
    name = "htx"
    venue: Venue = "htx-linear"  # also serves htx-inverse (see `served`)

    def __init__(self, ledger: Ledger, catalog: Any, options: HtxOptions) -> None:
        super().__init__(ledger)
        self.catalog = catalog
        self.options = options
        #: (venue, contract) -> its liquidations submitted in this turn of the event loop,
        #: pushed together by `flush` (scheduled with call_soon at the turn's first submit)
        self.pending: dict[tuple[Venue, str], list[Liquidation]] = {}

    @property
    def served(self) -> tuple[Venue, ...]:
        return tuple(PATHS.values())

    def route(self, path: str) -> Venue | None:
        return PATHS.get(path.split("?", 1)[0])

    # --- REST -----------------------------------------------------------------------

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        venue = CONTRACT_INFO.get(path)
        if venue is None:
            return None
        business = query.get("business_type", ["swap"])[0] or "swap"
        if venue == "htx-inverse":
            business = "all"
        if business not in ("swap", "futures", "all"):
            return 200, self.rest_error(400)
        listed = [
            i
            for i in self.catalog.rest_visible(venue, now_ms())
            if business == "all" or (business == "futures") == i.delivery
        ]
        data = [contract_info(i) for i in sorted(listed, key=lambda i: i.inst_id)]
        return 200, {"status": "ok", "data": data, "ts": now_ms()}  # sizes: exact Fragments

    def rest_error(self, status: int) -> Any:
        code, msg = (
            (1032, "Access frequency exceeded.") if status == 429 else (1000, "System error.")
        )
        return {"status": "error", "err_code": code, "err_msg": msg, "ts": now_ms()}

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        venue = self.route(ws.request.path if ws.request else "") or "htx-linear"
        conn = HtxConn(ws, venue)
        await self._serve(conn, self._answer, watch=self._pinger(conn))

    async def _pinger(self, conn: HtxConn) -> None:
        while conn.open:
            await asyncio.sleep(self.options.ping_interval)
            if conn.stalled:
                continue
            if len(conn.unanswered) >= self.options.max_missed:
                self.stats["ping_timeouts"] += 1
                conn.send(dumps({"op": "close", "ts": now_ms()}), now_ms())
                await conn.drop("close", 1000, "Bye")
                return
            ts = str(now_ms())
            conn.unanswered.append(ts)
            conn.send(dumps({"op": "ping", "ts": ts}), now_ms())
            self.stats["pings_sent"] += 1

    def _answer(self, conn: HtxConn, message: str | bytes) -> bytes | None:
        if isinstance(message, bytes):  # a client may send gzip too
            try:
                message = zlib.decompress(message, 16 + zlib.MAX_WBITS).decode()
            except (zlib.error, UnicodeDecodeError):
                message = ""
        try:
            request = orjson.loads(message)
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict):
            return dumps(
                {"op": "error", "ts": now_ms(), "err-code": 2040, "err-msg": "Invalid request."}
            )
        op = request.get("op")
        if op == "pong":
            ts = request.get("ts")
            if ts in conn.unanswered:  # echoed exactly: a string stays a string
                del conn.unanswered[: conn.unanswered.index(ts) + 1]
            return None
        if op not in ("sub", "unsub"):
            return dumps(
                {"op": "error", "ts": now_ms(), "err-code": 2010, "err-msg": "Topic error."}
            )
        topic, cid = request.get("topic"), request.get("cid")
        ack: dict[str, Any] = {"op": op, "cid": cid, "topic": topic, "ts": now_ms()}
        code = self._subscribe(conn, op, topic, request.get("business_type"))
        ack["err-code"] = code
        if code:
            ack["err-msg"] = ERRORS[code]
        self._changed()
        return dumps(ack)

    def _subscribe(self, conn: HtxConn, op: str, topic: object, business: object) -> int:
        if not isinstance(topic, str) or not (
            topic.startswith("public.") and topic.endswith(".liquidation_orders")
        ):
            return 2010
        contract = topic[len("public.") : -len(".liquidation_orders")]
        if op == "unsub":
            if contract == "*":
                conn.wildcard = False
            conn.contracts.discard(contract)
            return 0
        if conn.wildcard:
            return 2014
        if business is not None and not self.options.business_type_ok:
            return 2040
        if contract == "*":
            conn.wildcard = True
            conn.futures_too = conn.futures_too or business == "all"
            return 0
        if self.catalog.get(conn.venue, contract) is None:
            return 2011
        conn.contracts.add(contract)
        return 0

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(
            isinstance(c, HtxConn) and c.live and (c.wildcard or c.contracts) for c in self.conns
        )

    def has_audience_for(self, venue: Venue) -> bool:
        return any(
            isinstance(c, HtxConn) and c.live and c.venue == venue and (c.wildcard or c.contracts)
            for c in self.conns
        )

    def pending_count(self, run: int | None = None) -> int:
        if run is None:
            return sum(len(v) for v in self.pending.values())
        return sum(1 for liqs in self.pending.values() for liq in liqs if liq.run == run)

    def submit(self, liq: Liquidation) -> None:
        """Queue `liq` for the push of its contract at the end of this turn: the driver
        generates a turn's arrivals in one go, so a cluster (or a crash's many BTC
        liquidations) costs one frame, not one each."""
        if not self.pending:
            asyncio.get_running_loop().call_soon(self.flush)
        key = (liq.inst.venue, liq.inst.inst_id)
        queued = self.pending.get(key)
        if queued is None:
            self.pending[key] = [liq]
        else:
            queued.append(liq)

    def flush(self) -> None:
        """Push what this turn queued, one frame per contract (and per `MAX_PER_PUSH`);
        the ledger lists each liquidation with the clients its frame reached."""
        pending, self.pending = self.pending, {}
        for liqs in pending.values():
            for start in range(0, len(liqs), MAX_PER_PUSH):
                chunk = liqs[start : start + MAX_PER_PUSH]
                now = now_ms()
                first = chunk[0]
                raw = dumps(push(first, now, [entry(x) for x in chunk]))
                clients = self._send_to(first.inst, raw, now)
                self.stats["pushes"] += 1  # liquidations_emitted / pushes: elements per push
                for liq in chunk:
                    seq = self._emitted(liq, clients, now)
                    if seq:
                        self._remember(
                            liq, seq, raw if len(chunk) == 1 else partial(alone, liq, now)
                        )

    def _send_to(self, inst: Instrument, raw: bytes, now: int) -> int:
        clients = 0
        packed = b""
        for conn in self.conns:
            if isinstance(conn, HtxConn) and conn.venue == inst.venue and conn.wants(inst):
                packed = packed or gzip(raw)
                clients += conn.send_gzipped(packed, now)
        return clients

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        assert frame is not None
        return self._send_to(liq.inst, frame, now_ms)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        now = now_ms()
        payload, label = malformed(rng, liq, kind, now)
        clients = self._send_to(liq.inst, payload, now)
        self._malformed_emitted(liq.inst.venue, label, kind, liq, clients, now)


ERRORS: Final = {
    2010: "Topic error.",
    2011: "Contract doesn't exist.",
    2014: "Repeated subscription.",
    2040: "Missing required parameter.",
}


# --- the plug-in --------------------------------------------------------------------


def instruments(coin: Coin) -> list[Instrument]:
    """USDT-M: a swap for every coin OKX lists (flag `o`), sized to about $100 a contract
    (BTC 0.001, ETH 0.01, as the real ones), plus the quarterly for flag `f`; coin-M: a swap
    of 100 USD (BTC) or 10 USD a contract for every coin with flag `i`."""
    out: list[Instrument] = []
    tick = tick_for(coin.price)
    pdec = decimals(tick)
    if "o" in coin.flags:
        size = pow10(math.floor(math.log10(100 / coin.price)))
        pair = f"{coin.name}-USDT"
        listed = [(pair, False, 0.8)]
        if "f" in coin.flags:
            listed.append((f"{pair}-{EXPIRY_CODE}", True, 0.05))
        out += [
            Instrument(
                "htx-linear", code, coin.name, "linear", "USDT", dated, 1, size, Decimal(1),
                tick, pdec, Decimal(1), coin.weight * factor, coin.name, pair,
            )
            for code, dated, factor in listed
        ]  # fmt: skip
    if "i" in coin.flags:
        size = Decimal(100) if coin.name == "BTC" else Decimal(10)
        out.append(
            Instrument(
                "htx-inverse", f"{coin.name}-USD", coin.name, "inverse", "USD", False, 1, size,
                Decimal(1), tick, pdec, Decimal(1), coin.weight * 0.3, coin.name,
                f"{coin.name}-USD",
            )
        )  # fmt: skip
    return out


def notional(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    # USDT-M: volume × contract_size coins × price; coin-M: volume × contract_size USD
    if inst.ct_type == "linear":
        return qty * inst.contract_size * price
    return qty * inst.contract_size


def _servers(ctx: SimContext) -> list[VenueServer]:
    options = HtxOptions(ping_interval=ctx.settings.sim_htx_ping_interval_s)
    return [HtxServer(ctx.ledger, ctx.catalog, options)]


PLUGIN = SimPlugin(
    exchange="htx",
    venues=tuple(PATHS.values()),
    ports={"htx": 9105},
    instruments=instruments,
    notional=notional,
    servers=_servers,
    collector_env=collector_urls({"htx": ""}),
    # HTX carries about 10-18 % of market liquidation volume, mostly USDT-M
    weights={"htx-linear": 0.25, "htx-inverse": 0.05},
)
