"""The Deribit venue: one JSON-RPC connection, `trades.future.{currency}.100ms` per currency.

On each connection: `public/set_heartbeat` (Deribit then sends `test_request`s and closes a
connection that leaves one unanswered), then `public/subscribe`; the answer lists the
channels actually subscribed (Deribit drops unknown ones silently), so a missing channel is
reported, and none at all is a refusal. Every `test_request` is answered with `public/test`
on the connection it came from: the parser reports it, `supervise` (a task the runtime
tracks) sends the answer. Liveness: a `public/test` request after `deribit_ping_seconds`
of silence. Specs: `<rest>/api/v2/public/get_instruments?currency=C&kind=future` per
currency (one failing currency does not block the others).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from functools import partial
from typing import Any
from urllib.parse import urlencode

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from liqmon.collector.instruments import SpecCache, fetch_json
from liqmon.collector.pool import FeedPool
from liqmon.collector.timing import wait_any
from liqmon.collector.venue import Deliver, FeedSpec, SubscribeError, recv_json
from liqmon_deribit.parser import DeribitInstrument, TradesParser, parse_instruments
from liqmon_deribit.settings import DeribitSettings

logger = logging.getLogger(__name__)
INSTRUMENTS_PATH = "/api/v2/public/get_instruments"
_ids = itertools.count(1)


def rpc(method: str, params: dict[str, Any]) -> str:
    return orjson.dumps(
        {"jsonrpc": "2.0", "id": next(_ids), "method": method, "params": params}
    ).decode()


def channels(currencies: tuple[str, ...]) -> list[str]:
    return [f"trades.future.{c}.100ms" for c in currencies]


async def load_specs(rest_url: str, currencies: tuple[str, ...]) -> dict[str, DeribitInstrument]:
    base = rest_url.rstrip("/") + INSTRUMENTS_PATH
    urls = [f"{base}?{urlencode({'currency': c, 'kind': 'future'})}" for c in currencies]
    docs = await asyncio.gather(*(fetch_json(u) for u in urls), return_exceptions=True)
    specs: dict[str, DeribitInstrument] = {}
    failures: list[BaseException] = []
    for doc in docs:
        try:
            if isinstance(doc, BaseException):
                raise doc
            specs.update(parse_instruments(doc))
        except (ValueError, RuntimeError) as exc:
            failures.append(exc)
    if failures and len(failures) == len(docs):
        raise failures[0]
    return specs


class DeribitVenue:
    exchange = "deribit"

    def __init__(self, settings: DeribitSettings) -> None:
        self.settings = settings
        rest, currencies = settings.deribit_rest_url, settings.deribit_currencies
        self.specs: SpecCache[DeribitInstrument] = SpecCache.of_collector(
            "deribit instruments", partial(load_specs, rest, currencies), settings
        )
        self.parser = TradesParser(self.specs, on_test_request=self._test_requested)
        self._ws: ClientConnection | None = None
        self._answers_due = 0
        self._answer_wanted = asyncio.Event()
        self.answered = 0  # test_requests answered (tests read it)
        self.missing_channels: list[str] = []

    def feeds(self) -> list[FeedSpec]:
        return [
            FeedSpec(
                product="deribit",
                url=self.settings.deribit_ws_url,
                parser=self.parser,
                subscribe=self.subscribe,
                text_ping=rpc("public/test", {}),
                quiet_seconds=self.settings.deribit_ping_seconds,
                caches=(self.specs,),
            )
        ]

    def caches(self) -> list[SpecCache[Any]]:
        return [self.specs]

    def notes(self) -> dict[str, str]:
        """What Deribit's numbers rest on (the status hash's `notes`, shown by /api/health)."""
        return {
            "side": "direction read as the taker's side (third-party reading; the docs say "
            "'Direction'); M = maker liquidated, T = taker, MT = both (two events)",
            "units": "amount in USD for inverse, coins for linear (instrument_type)",
            "channels_missing": ", ".join(self.missing_channels) or "none",
        }

    # --- the connection's opening --------------------------------------------------

    async def subscribe(self, ws: ClientConnection, deliver: Deliver) -> None:
        """Heartbeat on, then the trade channels; returns once Deribit confirmed them."""
        self._ws = ws
        self._answers_due = 0  # those were the previous connection's
        wanted = channels(self.settings.deribit_currencies)
        heartbeat = await self._call(
            ws, deliver, "public/set_heartbeat",
            {"interval": self.settings.deribit_heartbeat_seconds},
        )  # fmt: skip
        if heartbeat != "ok":
            raise SubscribeError(f"deribit set_heartbeat answered {heartbeat!r:.100}")
        got = await self._call(ws, deliver, "public/subscribe", {"channels": wanted})
        subscribed = [c for c in got if isinstance(c, str)] if isinstance(got, list) else []
        if not subscribed:
            raise SubscribeError(f"deribit subscribed none of {wanted}: {got!r:.200}")
        self.missing_channels = [c for c in wanted if c not in subscribed]
        if self.missing_channels:
            logger.warning("deribit did not subscribe %s", ", ".join(self.missing_channels))

    async def _call(
        self, ws: ClientConnection, deliver: Deliver, method: str, params: dict[str, Any]
    ) -> Any:
        request = rpc(method, params)
        request_id = orjson.loads(request)["id"]
        await ws.send(request)
        while True:
            raw, msg = await recv_json(ws)
            if isinstance(msg, dict) and msg.get("id") == request_id:
                if "error" in msg:
                    raise SubscribeError(f"deribit refused {method}: {msg['error']!r:.300}")
                return msg.get("result")
            deliver(raw)  # test_requests among them are answered by `supervise`

    # --- test_request answers --------------------------------------------------------

    def _test_requested(self) -> None:
        self._answers_due += 1
        self._answer_wanted.set()

    async def supervise(self, pool: FeedPool, stop: asyncio.Event) -> None:
        """Answer each `test_request` with `public/test` on the current connection."""
        del pool  # the one connection is a static feed
        while True:
            await wait_any(stop, self._answer_wanted, timeout=None)
            if stop.is_set():
                return
            self._answer_wanted.clear()
            while self._answers_due > 0 and self._ws is not None:
                self._answers_due -= 1
                with contextlib.suppress(ConnectionClosed):  # the reconnect starts afresh
                    await self._ws.send(rpc("public/test", {}))
                    self.answered += 1
