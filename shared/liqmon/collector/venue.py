"""What a venue plugs into the shared collector runtime.

A venue (Binance, OKX, Bybit, …) is a set of feeds - one WebSocket connection each, with
its frame parser and its connection hooks - plus the spec caches its parsers read. Everything
else (reconnects, liveness, rollover, buffering, status, gaps, dead letters, held events)
is `liqmon.collector` and the same for every venue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from websockets.asyncio.client import ClientConnection

from liqmon.collector.frames import FrameParser
from liqmon.collector.instruments import SpecCache

#: Receives a frame that arrived while subscribing (so none is lost); returns the reply the
#: venue expects, if any (see `FrameResult.reply`), which the subscribe hook sends.
Deliver = Callable[[str | bytes], str | None]
#: Sends the subscription on a fresh connection and returns once it is confirmed; raises
#: `SubscribeError` if the venue refuses. Frames that are not the confirmation go to deliver.
Subscribe = Callable[[ClientConnection, Deliver], Awaitable[None]]


class SubscribeError(RuntimeError):
    pass


async def recv_json(
    ws: ClientConnection, loads: Callable[[str | bytes], Any] = orjson.loads
) -> tuple[str | bytes, Any]:
    """The next frame, for a subscribe hook waiting for its answers: the raw frame (for
    `deliver` when it is not an answer) and its JSON decoding by `loads`, None when it is not
    JSON (a text `pong`, a binary frame the venue's `loads` cannot read)."""
    raw = await ws.recv()
    try:
        return raw, loads(raw)
    except ValueError:  # orjson.JSONDecodeError, MalformedFrame, UnicodeDecodeError, not gzip
        return raw, None


@dataclass(frozen=True)
class FeedSpec:
    """One WebSocket connection of a venue.

    `product` names it in the status (`binance-usdm`, or `okx-swap+futures` for OKX's shared
    connection). Liveness: after `quiet_seconds` without any frame the runtime sends
    `text_ping` (OKX: `"ping"`) or, when that is None, a protocol ping frame (Binance), and
    drops the connection if nothing answers within the pong timeout. `max_lifetime` is the
    venue's hard connection limit (Binance: 24 h); the runtime opens a replacement before it.
    `ping_when_busy` sends the ping every `quiet_seconds` even while frames flow (a venue
    that asks for a fixed heartbeat: Bybit, 20 s). `decode` turns a binary frame into text
    (HTX gzips every frame; it raises ValueError for a frame it cannot read); without it a
    binary frame must be UTF-8. `headers` go with the WebSocket handshake (Gate's
    `X-Gate-Size-Decimal`).
    """

    product: str
    url: str
    parser: FrameParser
    subscribe: Subscribe | None = None
    text_ping: str | None = None
    quiet_seconds: float = 20.0
    max_lifetime: float | None = None
    ping_when_busy: bool = False
    caches: Sequence[SpecCache[Any]] = field(default_factory=tuple)
    decode: Callable[[bytes], str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


class Venue(Protocol):
    """A venue may also define `async supervise(pool: FeedPool, stop)`: the runtime runs it
    beside the feeds so the venue can open and retire connections while it runs (see
    `liqmon.collector.pool` and `liqmon.collector.topics`; Bybit does; Gate checks its side
    convention there). And `notes() -> dict[str, str]`: what the venue's numbers rest on
    where that is decided at run time (Gate's side convention), published in the status
    hash's `notes` field (JSON) and shown by /api/health."""

    #: "binance": the status/gap keys' name; the service name, log name and dead letters'
    #: source are `liqmon.venues.service_name(exchange)` ("collector-binance").
    exchange: str

    def feeds(self) -> list[FeedSpec]: ...

    def caches(self) -> list[SpecCache[Any]]: ...
