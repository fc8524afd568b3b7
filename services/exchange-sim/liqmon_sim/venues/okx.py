"""OKX v5 public WebSocket (`liquidation-orders`) and `GET /api/v5/public/instruments`.

Subscribe per instType with acks `{"id"?,"event":"subscribe","arg":…,"connId":…}`; any
other channel, a bad instType or a bad request gets `{"event":"error","code":"60012",…}`.
Text `ping` is answered with text `pong`. Idle rule (docs: "the connection will break if
… data has not been pushed for more than 30 seconds"): a connection with no traffic in
either direction for `idle_timeout` is closed; `idle_rule="client"` counts only messages
from the client (stricter). Pushes batch whatever liquidations arrive within `batch_ms`
into one frame per instType, grouped by instId (several `data[]` and `details[]`
entries), all values strings. Optional: a stale replay of an earlier liquidation as the
first push after subscribing, and the `64008` service-upgrade notice followed by a close.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson
from websockets.asyncio.server import ServerConnection

from liqmon_sim import frames, malformed
from liqmon_sim.catalog import Catalog, Instrument, Venue, okx_instruments
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation
from liqmon_sim.rest import okx_instruments as okx_rest_instruments
from liqmon_sim.venues.base import Conn, VenueServer, now_ms, text_of
from liqmon_sim.venues.batching import BatchedServer
from liqmon_sim.venues.plugin import SimContext, SimPlugin, collector_urls

logger = logging.getLogger(__name__)

WS_PATH = "/ws/v5/public"
INST_TYPES = ("SWAP", "FUTURES", "MARGIN", "OPTION")
MAX_DETAILS_PER_PUSH = 100


@dataclass
class OkxOptions:
    idle_timeout: float = 30.0
    idle_rule: Literal["any", "client"] = "any"
    batch_ms: int = 50  # 0 = one push per liquidation, at once
    replay_on_subscribe: bool = False
    notice_delay: float = 30.0  # 64008 notice, then close after this long


class OkxConn(Conn):
    def __init__(self, ws: ServerConnection, conn_id: str) -> None:
        super().__init__(ws)
        self.conn_id = conn_id
        self.subs: dict[str, dict[str, Any]] = {}  # instType -> arg as sent
        self.replayed = False


class OkxServer(BatchedServer):
    venue = name = "okx"

    def __init__(
        self, ledger: Ledger, catalog: Catalog, options: OkxOptions, rng: random.Random
    ) -> None:
        super().__init__(ledger)
        self.catalog = catalog
        self.options = options
        self.rng = rng  # connection ids only
        self.pending: list[Liquidation] = []

    def route(self, path: str) -> bool:
        return path.split("?", 1)[0] == WS_PATH

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        if path == "/api/v5/public/time":
            return 200, {"code": "0", "msg": "", "data": [{"ts": str(now_ms())}]}
        if path != "/api/v5/public/instruments":
            return None
        inst_type = query.get("instType", [""])[0]
        if not inst_type:
            return 400, {"code": "50014", "msg": "Parameter instType can not be empty", "data": []}
        if inst_type not in INST_TYPES:
            return 400, {"code": "51000", "msg": "Parameter instType error", "data": []}
        inst_id = query.get("instId", [None])[0]
        family = query.get("instFamily", query.get("uly", [None]))[0]
        return 200, okx_rest_instruments(self.catalog, inst_type, now_ms(), inst_id, family)

    def rest_error(self, status: int) -> Any:
        if status == 429:
            return {"code": "50011", "msg": "Too Many Requests", "data": []}
        return {
            "code": "50001",
            "msg": "Service temporarily unavailable. Try again later",
            "data": [],
        }

    # --- connections ----------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        conn = OkxConn(ws, f"{self.rng.getrandbits(32):08x}")
        await self._serve(conn, self._answer)

    def _answer(self, conn: OkxConn, message: str | bytes) -> list[bytes]:
        if message == "ping":
            return [b"pong"]
        text = text_of(message)
        bad = frames.okx_error("60012", f"Invalid request: {text}", conn.conn_id)
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            return [bad]
        if not isinstance(request, dict) or request.get("op") not in ("subscribe", "unsubscribe"):
            return [bad]
        args, req_id = request.get("args"), request.get("id")
        if (
            not isinstance(args, list)
            or not args
            or (req_id is not None and not isinstance(req_id, str))
        ):
            return [bad]
        op = request["op"]
        replies = []
        for arg in args:
            ok = (
                isinstance(arg, dict)
                and arg.get("channel") == frames.OKX_CHANNEL
                and arg.get("instType") in INST_TYPES
            )
            if not ok:
                channel = arg.get("channel") if isinstance(arg, dict) else arg
                msg = f"Invalid request: channel:{channel} doesn't exist"
                replies.append(frames.okx_error("60012", msg, conn.conn_id, req_id))
                continue
            if op == "subscribe":
                conn.subs[arg["instType"]] = arg
            else:
                conn.subs.pop(arg["instType"], None)
            replies.append(frames.okx_event(op, arg, conn.conn_id, req_id))
        self._changed()
        if (
            op == "subscribe"
            and conn.subs
            and self.options.replay_on_subscribe
            and not conn.replayed
        ):
            conn.replayed = True
            asyncio.get_running_loop().call_soon(self._replay, conn)
        return replies

    def _replay(self, conn: OkxConn) -> None:
        """The stale first push: an earlier liquidation, to this connection only."""
        for liq, seq, _ in reversed(self.recent):
            if liq.inst.inst_type in conn.subs:
                now = now_ms()
                push = frames.okx_push(
                    liq.inst.inst_type, [frames.okx_entry(liq.inst, [frames.okx_detail(liq)])]
                )
                if conn.send(push, now):
                    self._emitted(liq, 1, now, replay_of=seq)
                    self.stats["replays_on_subscribe"] += 1
                return

    def background(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        return [("okx.flusher", self.flusher()), ("okx.idle", self.idle_sweeper())]

    def set_faults(self, faults: Any) -> None:
        self.options.replay_on_subscribe = faults.okx_replay_on_subscribe

    async def idle_sweeper(self) -> None:
        opt = self.options
        while True:
            await asyncio.sleep(min(1.0, max(0.02, opt.idle_timeout / 10)))
            now = now_ms()
            for conn in list(self.conns):
                if conn.stalled or not conn.open:
                    continue
                last = (
                    conn.last_client_ms
                    if opt.idle_rule == "client"
                    else max(conn.last_client_ms, conn.last_push_ms)
                )
                if now - last > opt.idle_timeout * 1000:
                    self.stats["idle_closes"] += 1
                    drop = conn.drop("close", 4004, "No data received in 30s.")
                    self.tasks.spawn(drop, "okx.idle-close")

    async def notice_all(self, delay: float) -> int:
        """Send the 64008 notice to every connection, then close them after `delay`."""
        conns = [c for c in self.conns if isinstance(c, OkxConn) and c.live]
        now = now_ms()
        for conn in conns:
            conn.send(frames.okx_notice(conn.conn_id), now)
        self.stats["notices"] += len(conns)
        await asyncio.sleep(delay)
        await asyncio.gather(
            *(c.drop("close", 1001, "service upgrade") for c in conns), return_exceptions=True
        )
        return len(conns)

    # --- delivery -------------------------------------------------------------------

    def has_audience(self) -> bool:
        return any(
            c.live and isinstance(c, OkxConn) and ("SWAP" in c.subs or "FUTURES" in c.subs)
            for c in self.conns
        )

    def ready_for(self, venue: Venue) -> bool:
        listed = {i.inst_type for i in self.catalog.instruments("okx")}
        return venue == "okx" and any(
            c.live and isinstance(c, OkxConn) and listed <= c.subs.keys() for c in self.conns
        )

    def pending_count(self, run: int | None = None) -> int:
        if run is None:
            return len(self.pending)
        return sum(1 for liq in self.pending if liq.run == run)

    def batch_ms(self) -> int:
        return self.options.batch_ms

    def _queue(self, liq: Liquidation) -> None:
        self.pending.append(liq)

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        by_type: dict[str, dict[str, tuple[Instrument, list[Liquidation]]]] = {}
        for liq in pending:
            group = by_type.setdefault(liq.inst.inst_type, {})
            group.setdefault(liq.inst.inst_id, (liq.inst, []))[1].append(liq)
        for inst_type, groups in by_type.items():
            batch: list[tuple[Instrument, list[Liquidation]]] = []
            size = 0
            for inst, liqs in groups.values():
                for start in range(0, len(liqs), MAX_DETAILS_PER_PUSH):
                    chunk = liqs[start : start + MAX_DETAILS_PER_PUSH]
                    if size + len(chunk) > MAX_DETAILS_PER_PUSH:
                        self._push(inst_type, batch)
                        batch, size = [], 0
                    batch.append((inst, chunk))
                    size += len(chunk)
            if batch:
                self._push(inst_type, batch)

    def _push(self, inst_type: str, batch: list[tuple[Instrument, list[Liquidation]]]) -> None:
        entries = [
            frames.okx_entry(inst, [frames.okx_detail(liq) for liq in liqs]) for inst, liqs in batch
        ]
        payload = frames.okx_push(inst_type, entries)
        now = now_ms()
        clients = self._send_to(inst_type, payload, now)
        for _, liqs in batch:
            for liq in liqs:
                seq = self._emitted(liq, clients, now)
                if seq:
                    self._remember(liq, seq, None)

    def _send_to(self, inst_type: str, payload: bytes, now: int) -> int:
        clients = 0
        for conn in self.conns:
            if isinstance(conn, OkxConn) and inst_type in conn.subs:
                clients += conn.send(payload, now)
        return clients

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        """OKX batches several liquidations per push, so the frame is rebuilt with `liq`'s
        detail alone (the same detail bytes as before)."""
        inst_type = liq.inst.inst_type
        payload = frames.okx_push(inst_type, [frames.okx_entry(liq.inst, [frames.okx_detail(liq)])])
        return self._send_to(inst_type, payload, now_ms)

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        payload, label = malformed.okx(rng, liq, kind)
        now = now_ms()
        clients = self._send_to(liq.inst.inst_type, payload, now)
        self._malformed_emitted("okx", label, kind, liq, clients, now)


# --- the plug-in --------------------------------------------------------------------


def _servers(ctx: SimContext) -> list[VenueServer]:
    cfg = ctx.settings
    options = OkxOptions(
        idle_timeout=cfg.sim_okx_idle_timeout_s,
        idle_rule=cfg.sim_okx_idle_rule,
        batch_ms=cfg.sim_okx_batch_ms,
        replay_on_subscribe=ctx.faults.okx_replay_on_subscribe,
        notice_delay=cfg.sim_okx_notice_delay_s,
    )
    return [OkxServer(ctx.ledger, ctx.catalog, options, ctx.rng("okx"))]


def _usd(inst: Instrument, qty: Decimal, price: Decimal) -> Decimal:
    # contracts × ctVal × ctMult, in coin (linear: × price) or in USD (inverse)
    value = qty * inst.contract_size * inst.ct_mult
    return value * price if inst.ct_type == "linear" else value


PLUGIN = SimPlugin(
    exchange="okx",
    venues=("okx",),
    ports={"okx": 9103},
    instruments=okx_instruments,
    notional=_usd,
    servers=_servers,
    collector_env=collector_urls({"okx": WS_PATH}),
    weights={"okx": 0.4},
)
