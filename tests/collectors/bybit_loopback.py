"""Bybit behaviour on the loopback venue: instruments-info pages, subscribe/unsubscribe acks
exactly as the doc fixtures, `{"op":"ping"}` -> pong, pushes to the connections subscribed to
a topic, and a lever to refuse chosen topics."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from liqmon.keys import Keys
from tests.collectors.servers import LoopbackVenue
from tests.collectors.wire import BASE_TS

INFO = "/v5/market/instruments-info"
LINEAR, INVERSE = "/v5/public/linear", "/v5/public/inverse"


def instrument(symbol: str, *, status: str = "Trading") -> dict[str, Any]:
    inverse = symbol.endswith("USD")
    base = symbol.removesuffix("USDT").removesuffix("USD")
    return {
        "symbol": symbol, "contractType": "InversePerpetual" if inverse else "LinearPerpetual",
        "status": status, "baseCoin": base, "quoteCoin": "USD" if inverse else "USDT",
        "settleCoin": base if inverse else "USDT",
        "lotSizeFilter": {"minOrderQty": "1" if inverse else "0.001",
                          "qtyStep": "1" if inverse else "0.001"},
    }  # fmt: skip


def listing(category: str, entries: list[dict[str, str]], limit: int) -> dict[str, Any]:
    """REST documents for one category, `limit` entries a page, linked by nextPageCursor."""
    docs: dict[str, Any] = {}
    pages = [entries[i : i + limit] for i in range(0, len(entries), limit)] or [[]]
    for n, page in enumerate(pages):
        query = {"category": category, "limit": str(limit)}
        if n:
            query["cursor"] = f"c{n}"
        cursor = f"c{n + 1}" if n + 1 < len(pages) else ""
        docs[f"{INFO}?{urlencode(query)}"] = {
            "retCode": 0, "retMsg": "OK",
            "result": {"category": category, "list": page, "nextPageCursor": cursor},
            "retExtInfo": {}, "time": BASE_TS,
        }  # fmt: skip
    return docs


def push(symbol: str, *entries: dict[str, Any]) -> str:
    return orjson.dumps(
        {"topic": f"allLiquidation.{symbol}", "type": "snapshot", "ts": BASE_TS + 999,
         "data": list(entries)}
    ).decode()  # fmt: skip


def element(
    i: int, symbol: str = "BTCUSDT", side: str = "Buy", v: str | None = None
) -> dict[str, Any]:
    return {"T": BASE_TS + i, "s": symbol, "S": side, "v": v or f"0.{i + 1:03d}", "p": "82396.90"}


class BybitLoopback:
    """Attach to a `LoopbackVenue`: `subs[conn]` is each connection's subscribed topics."""

    def __init__(self, venue: LoopbackVenue) -> None:
        self.venue = venue
        self.subs: dict[ServerConnection, set[str]] = {}
        self.requests: list[dict[str, Any]] = []
        self.refuse: set[str] = set()
        venue.on_message = self.on_message

    async def on_message(self, conn: ServerConnection, text: str) -> bool:
        msg = orjson.loads(text)
        op, req_id = msg.get("op"), msg.get("req_id", "")
        if op == "ping":
            if not self.venue.mute_pongs:
                await conn.send(self._reply("ping", req_id, True, "pong"))
            return True
        if op not in ("subscribe", "unsubscribe"):
            return False
        self.requests.append(msg)
        topics = set(msg["args"])
        if op == "subscribe" and topics & self.refuse:
            bad = sorted(topics & self.refuse)
            await conn.send(self._reply(op, req_id, False, f"Invalid symbol :{bad}"))
            return True
        mine = self.subs.setdefault(conn, set())
        if op == "subscribe":
            mine |= topics
        else:
            mine -= topics
        await conn.send(self._reply(op, req_id, True, ""))
        self.venue.changed.set()
        return True

    @staticmethod
    def _reply(op: str, req_id: str, ok: bool, ret_msg: str) -> str:
        return orjson.dumps(
            {"success": ok, "ret_msg": ret_msg, "conn_id": "3cd84cb1-4d06", "req_id": req_id,
             "op": op}
        ).decode()  # fmt: skip

    def subscribed(self, path: str) -> set[str]:
        out: set[str] = set()
        for conn in self.venue.open_on(path):
            out |= self.subs.get(conn, set())
        return out

    def per_connection(self, path: str) -> list[set[str]]:
        return [self.subs.get(c, set()) for c in self.venue.open_on(path)]

    async def publish(self, symbol: str, frame: str) -> int:
        """Send to every open connection subscribed to the symbol's topic."""
        sent, topic = 0, f"allLiquidation.{symbol}"
        for conn, topics in list(self.subs.items()):
            if topic in topics and conn in self.venue.connections:
                with contextlib.suppress(ConnectionClosed):
                    await conn.send(frame)
                    sent += 1
        return sent


def status_key(keys: Keys) -> str:
    return keys.collector_status("bybit")
