"""What every simulated venue shares: its client connections, fault actions, delivery.

Frames are written synchronously onto each socket (as `websockets.broadcast` does) so that
one liquidation reaches every subscriber in the same loop iteration and the ledger can say
exactly how many clients it was written to. Stalls pause reading on the transport: the
client's pings and pongs then go unanswered, just like a frozen exchange connection.

Disconnect modes: `close` (clean close frame), `drop` (TCP FIN after flushing what was
already written, no close frame: the client sees 1006 but loses nothing the ledger lists),
`abort` (TCP reset at once: frames still buffered are lost, as on a real crash).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Literal, TypeVar

from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from liqmon.runtime import TaskSet
from liqmon_sim.catalog import Venue
from liqmon_sim.frames import frame_head
from liqmon_sim.ledger import Ledger
from liqmon_sim.market import Liquidation

logger = logging.getLogger(__name__)

DropMode = Literal["close", "drop", "abort"]
DROP_MODES: tuple[DropMode, ...] = ("close", "drop", "abort")
RECENT = 2_000  # emitted liquidations kept for duplicates/replays

#: What a venue's `answer` to one client message returns: one frame, several, or none (it
#: sent what it had to itself).
Reply = bytes | Iterable[bytes] | None
#: A remembered liquidation's frame for a re-send: the bytes, a function building exactly
#: them (batched venues: cheaper than a frame each), or None (rebuilt in `_send_again`).
Remembered = bytes | Callable[[], bytes] | None


class Conn:
    """One client connection and what the venue knows about it. `binary`: the venue sends
    binary frames (HTX: gzip), not text."""

    binary = False

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.opened_ms = now_ms()
        self.last_client_ms = self.opened_ms
        self.last_push_ms = self.opened_ms
        self.stalled = False
        self.frames = 0
        self._flush_scheduled = False
        #: Set when the server decided to drop this connection: from then on nothing is
        #: queued on it, so nothing is recorded in the ledger as sent to it.
        self.dropping = False

    @property
    def open(self) -> bool:
        return self.ws.protocol.state is State.OPEN

    @property
    def live(self) -> bool:
        return not self.stalled and not self.dropping and self.open

    def buffered(self) -> int:
        transport = self.ws.transport
        return transport.get_write_buffer_size() if transport is not None else 0

    def send(self, payload: bytes, now_ms: int) -> bool:
        """Queue one text (or `binary`) frame; False if the connection cannot take it.

        Frames queued in one loop iteration go to the socket in one write (`_flush`, run
        by call_soon): one syscall per burst instead of one per frame."""
        if not self.live:
            return False
        protocol = self.ws.protocol
        try:
            if not protocol.extensions and not protocol.expect_continuation_frame:
                # state OPEN (`live`): websockets' framing minus its generality, 2/3 the cost
                protocol.writes.append(frame_head(len(payload), self.binary) + payload)
            elif self.binary:
                protocol.send_binary(payload)
            else:
                protocol.send_text(payload)
        except Exception:  # the connection started closing between the check and the write
            return False
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)
        self.frames += 1
        self.last_push_ms = now_ms
        return True

    def _flush(self) -> None:
        """Everything queued since the last flush in ONE transport write: websockets' own
        `send_data` writes frame by frame, i.e. one send() syscall per frame while the
        socket keeps up, which at thousands of frames per second was the simulator's largest
        single cost. An empty chunk (`SEND_EOF`, only ever last) half-closes, as there."""
        self._flush_scheduled = False
        try:
            chunks = self.ws.protocol.data_to_send()
            transport = self.ws.transport
            if chunks and transport is not None:
                transport.write(b"".join(chunks))
                if not chunks[-1]:  # the closing handshake is done on our side
                    if transport.can_write_eof():
                        transport.write_eof()
                    else:
                        transport.close()
        except Exception:  # the socket died; the handler sees it and cleans up
            logger.debug("write failed", exc_info=True)

    def stall(self) -> None:
        if not self.stalled and self.ws.transport is not None:
            self.stalled = True
            self.ws.transport.pause_reading()

    def resume(self) -> None:
        if self.stalled and self.ws.transport is not None:
            self.stalled = False
            self.ws.transport.resume_reading()

    async def drop(self, mode: DropMode, code: int = 1001, reason: str = "") -> None:
        """`close` and `drop` deliver every frame already queued (the ledger counted them)
        before the close frame / FIN; `abort` resets at once, losing what is still in the
        transport's buffer, as a real crash at the exchange would."""
        self.dropping = True
        transport = self.ws.transport
        if mode == "close":
            self._flush()
            await self.ws.close(code, reason)
        elif transport is not None and mode == "abort":
            transport.abort()
        elif transport is not None:
            self._flush()  # queued frames into the transport; close() sends them, then FIN
            transport.close()


class Hangup(Exception):
    """Raised by a venue's `answer` to close the connection with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


C = TypeVar("C", bound=Conn)


class VenueServer:
    """Base of every venue's server: one listening port serving one or more simulator venues.

    `name` is the server's key in the ports (`SimPlugin.ports`); `venue` the simulator venue
    it serves (a server serving several says so in `served`).
    """

    name: str
    venue: Venue

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.conns: set[Conn] = set()
        self.stats: Counter[str] = Counter()
        self.server: Server | None = None
        self.recent: deque[tuple[Liquidation, int, Remembered]] = deque(maxlen=RECENT)
        self.audience_changed = asyncio.Event()
        self.rest_failures: deque[int] = deque()  # statuses for the next REST requests
        self.tasks = TaskSet()  # per-venue background work (closing idle sockets, …)

    # --- bookkeeping ----------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self.server is not None
        sock = next(iter(self.server.sockets))
        return int(sock.getsockname()[1])

    def _opened(self, conn: Conn) -> None:
        self.conns.add(conn)
        self.stats["connections_opened"] += 1
        self._changed()

    def _closed(self, conn: Conn) -> None:
        self.conns.discard(conn)
        self._changed()

    def _changed(self) -> None:
        self.audience_changed.set()
        self.audience_changed = asyncio.Event()

    async def _serve(
        self,
        conn: C,
        answer: Callable[[C, str | bytes], Reply],
        *,
        hello: bytes | None = None,
        watch: Coroutine[Any, Any, None] | None = None,
    ) -> None:
        """One client connection from open to close (each venue's `handler` builds its
        `Conn` and hands it here). `hello`: the greeting the venue sends first; `watch`: the
        venue's per-connection heartbeat or idle check, run until the connection ends. Every
        message the client sends stamps `last_client_ms` and goes to `answer`, whose reply
        frames are queued like pushes, so an ack always precedes the data it enables."""
        self._opened(conn)
        if hello is not None:
            conn.send(hello, now_ms())
        watcher = asyncio.create_task(watch, name=f"{self.name}.watch") if watch else None
        try:
            async for message in conn.ws:
                conn.last_client_ms = now_ms()
                reply = answer(conn, message)
                if isinstance(reply, bytes):
                    conn.send(reply, now_ms())
                elif reply is not None:
                    for frame in reply:
                        conn.send(frame, now_ms())
        except Hangup as hangup:
            await conn.ws.close(hangup.code, hangup.reason)
        except ConnectionClosed:
            pass
        finally:
            if watcher is not None:
                watcher.cancel()
            self._closed(conn)

    # --- what each venue provides --------------------------------------------------

    @property
    def served(self) -> tuple[Venue, ...]:
        """The simulator venues this server delivers (Bybit: linear and inverse)."""
        return (self.venue,)

    def background(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """(name, coroutine) of the server's own periodic work (flushers, idle sweepers),
        started with the simulator and cancelled when it stops."""
        return []

    def set_faults(self, faults: Any) -> None:
        """The fault knobs changed (`Faults`); a server that reads one keeps it current."""

    def route(self, path: str) -> object:
        """Truthy when `path` is one of this venue's WebSocket endpoints."""
        raise NotImplementedError

    def rest(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        """(status, JSON body) for a REST route, None when `path` is not one."""
        raise NotImplementedError

    def rest_error(self, status: int) -> Any:
        raise NotImplementedError

    async def handler(self, ws: ServerConnection) -> None:
        raise NotImplementedError

    def has_audience(self) -> bool:
        raise NotImplementedError

    def has_audience_for(self, venue: Venue) -> bool:
        """For a server that serves several venues (Bybit: linear and inverse)."""
        return self.has_audience()

    def ready_for(self, venue: Venue) -> bool:
        """True when every instrument `venue` lists reaches a live subscriber: a client that
        is still subscribing topic by topic (Bybit) is not ready. Tests wait on this before
        they start load, so nothing they count goes to a half-subscribed client. The default
        suits a venue whose one subscription covers every instrument (a wildcard): any live
        subscriber is ready; a venue subscribed per instrument overrides it."""
        return self.has_audience_for(venue)

    def pending_count(self, run: int | None = None) -> int:
        """Liquidations submitted but not yet on the wire (of `run`, or of every run); a
        venue that pushes each one when it is submitted (no batch, no sample) has none."""
        return 0

    def max_buffered(self) -> int:
        return max((c.buffered() for c in self.conns if c.live), default=0)

    # --- delivery -------------------------------------------------------------------

    def submit(self, liq: Liquidation) -> None:
        raise NotImplementedError

    def send_malformed(self, liq: Liquidation, kind: str, rng: random.Random) -> None:
        raise NotImplementedError

    def resend(self, rng: random.Random, run: int) -> bool:
        """Re-send one recently emitted liquidation, byte-identical; ledger: duplicate."""
        if not self.recent:
            return False
        liq, seq, frame = self.recent[rng.randrange(len(self.recent))]
        now = now_ms()
        clients = self._send_again(liq, frame() if callable(frame) else frame, now)
        self._emitted(dataclasses.replace(liq, run=run), clients, now, replay_of=seq)
        return clients > 0

    def _send_again(self, liq: Liquidation, frame: bytes | None, now_ms: int) -> int:
        """Write `liq`'s frame again (`frame` as `_remember`ed, or rebuilt by a venue that
        keeps none) to the clients subscribed to it; returns how many it reached."""
        raise NotImplementedError

    def _remember(self, liq: Liquidation, seq: int, frame: Remembered) -> None:
        self.recent.append((liq, seq, frame))

    def _emitted(
        self, liq: Liquidation, clients: int, now_ms: int, replay_of: int | None = None
    ) -> int:
        """Ledger bookkeeping after a liquidation's frame went out; returns its seq."""
        if clients == 0:
            self.stats["undelivered"] += 1
            return 0
        entry = self.ledger.record(
            liq, run=liq.run, clients=clients, emitted_ms=now_ms, replay_of=replay_of
        )
        self.stats["duplicates_sent" if replay_of else "liquidations_emitted"] += 1
        return entry.seq

    def _malformed_emitted(
        self, venue: Venue, label: str, kind: str, liq: Liquidation, clients: int, now_ms: int
    ) -> None:
        """Ledger bookkeeping after a broken frame (`kind`, made from `liq`) went out."""
        if clients == 0:
            self.stats["undelivered"] += 1
            return
        self.ledger.record_malformed(
            venue, label, kind, run=liq.run, clients=clients, emitted_ms=now_ms
        )
        self.stats["malformed_sent"] += 1

    # --- faults ---------------------------------------------------------------------

    async def drop_all(self, mode: DropMode) -> int:
        conns = [c for c in self.conns if c.open]
        self.stats[f"drops_{mode}"] += len(conns)
        await asyncio.gather(*(c.drop(mode) for c in conns), return_exceptions=True)
        self.stats["disconnect_rounds"] += 1  # done: a client may wait on this count
        return len(conns)

    def stall_all(self) -> int:
        conns = [c for c in self.conns if c.live]
        for conn in conns:
            conn.stall()
        self.stats["stalls"] += len(conns)
        self._changed()
        return len(conns)

    def resume_all(self) -> int:
        conns = [c for c in self.conns if c.stalled]
        for conn in conns:
            conn.resume()
        self._changed()
        return len(conns)

    def fail_rest(self, n: int, status: int) -> None:
        self.rest_failures.extend([status] * n)

    def next_rest_failure(self) -> int | None:
        return self.rest_failures.popleft() if self.rest_failures else None

    # --- lifecycle ------------------------------------------------------------------

    async def close(self) -> None:
        await self.tasks.cancel_all(timeout=1.0)
        if self.server is not None:
            self.server.close()
            for conn in list(self.conns):
                conn.resume()
            await self.server.wait_closed()

    def describe(self) -> dict[str, Any]:
        return {
            "port": self.port if self.server else None,
            "connections": len([c for c in self.conns if c.open]),
            "stalled": len([c for c in self.conns if c.stalled]),
            "pending": self.pending_count(),
            "ready": {v: self.ready_for(v) for v in self.served},
            **dict(sorted(self.stats.items())),
        }


def text_of(message: str | bytes) -> str:
    """A client's message as text (a binary frame decoded, undecodable bytes replaced)."""
    return message if isinstance(message, str) else message.decode("utf-8", "replace")


def live(conns: Iterable[Conn]) -> list[Conn]:
    return [c for c in conns if c.live]


def now_ms() -> int:
    return time.time_ns() // 1_000_000
