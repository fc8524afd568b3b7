"""One venue feed's WebSocket connection, kept alive for as long as the collector runs.

- Liveness comes from ping/pong, never from data: liquidation feeds are quiet for minutes.
  After `quiet_seconds` without any frame the feed sends a ping (the venue's text ping, or a
  protocol ping frame) and drops the connection if nothing answers within `pong_timeout`.
  This catches the "socket open, nothing flows" stall that TCP alone never reports.
- Reconnects back off exponentially with jitter, capped; the backoff resets after a
  connection is open *and* subscribed.
- Planned rollover: a venue that cuts connections at a fixed age (Binance: 24 h) gets a
  replacement opened (and subscribed) before the cut-off; only then is the old one closed, so
  the product is never without a live connection and no gap appears. The overlap can deliver
  a liquidation twice; the writer drops repeated ids. A venue notice (OKX 64008 "service
  upgrade") triggers the same rollover early.
- The reader never waits for Redis: each frame is handed synchronously to the collector's
  `handle`, which parses it and queues the events (`EventWriter.submit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, WebSocketException

from liqmon.backoff import Backoff
from liqmon.clock import now_ms
from liqmon.collector.settings import CollectorSettings
from liqmon.collector.status import CollectorStatus
from liqmon.collector.timing import wait_any, wait_or_stop
from liqmon.collector.venue import FeedSpec, SubscribeError

logger = logging.getLogger(__name__)
OPEN_ERRORS = (OSError, TimeoutError, WebSocketException, SubscribeError)


def describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        frame = exc.rcvd or exc.sent
        if frame is not None:
            return f"closed ({frame.code} {frame.reason})".strip()
        return "connection lost without a close frame"
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


class Session:
    """One open WebSocket plus its reader and keepalive tasks."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.opened = time.monotonic()
        self.last_rx = self.opened
        self.closed = asyncio.Event()
        self.reason = ""
        self.rx_signal: asyncio.Event | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def abort(self, reason: str) -> None:
        self.reason = reason
        self.ws.transport.abort()

    async def close(self, timeout: float) -> None:
        with contextlib.suppress(*OPEN_ERRORS):
            await asyncio.wait_for(self.ws.close(), timeout)
        self.ws.transport.abort()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


#: Parses one frame; returns a frame to send back at once (a venue's pong), or None.
Handler = Callable[["Feed", str | bytes, int], str | None]


class Feed:
    def __init__(
        self,
        spec: FeedSpec,
        settings: CollectorSettings,
        handle: Handler,
        status: CollectorStatus,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self._handle = handle
        self._status = status
        self.state = status.add_feed(spec.product, spec.url)
        self._rollover_wanted = asyncio.Event()
        self._next_rollover: float | None = None
        self.sessions_opened = 0

    def request_rollover(self) -> None:
        """Move to a fresh connection without a gap (e.g. the venue announced a restart)."""
        self._rollover_wanted.set()

    def _rollover_after(self) -> float | None:
        lifetime = self.spec.max_lifetime
        if not lifetime:
            return None
        return lifetime - min(self.settings.collector_rollover_lead_seconds, lifetime * 0.1)

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        backoff = Backoff(
            s.collector_backoff_initial_seconds, s.collector_backoff_max_seconds, jitter=0.5
        )
        current: Session | None = None
        try:
            while not stop.is_set():
                if current is None:
                    try:
                        current = await self._open()
                    except OPEN_ERRORS as exc:
                        self._status.disconnected(self.spec.product, describe(exc))
                        if backoff.failures % 20 == 0:  # the 1st, 21st, … failure in a row
                            logger.warning(
                                "%s: cannot connect to %s (%s); retrying",
                                self.spec.product, self.spec.url, describe(exc),
                            )  # fmt: skip
                        if await wait_or_stop(stop, backoff.next()):
                            break
                        continue
                    backoff.reset()
                    self._rollover_wanted.clear()  # a fresh connection needs no rollover
                    self._status.connected(self.spec.product)
                timeout = None
                if self._next_rollover is not None:
                    timeout = max(self._next_rollover - time.monotonic(), 0.0)
                await wait_any(current.closed, stop, self._rollover_wanted, timeout=timeout)
                if stop.is_set():
                    break
                if current.closed.is_set():
                    self._status.disconnected(self.spec.product, current.reason)
                    await current.close(self.settings.collector_close_timeout_seconds)
                    current = None
                    if await wait_or_stop(stop, backoff.next()):
                        break
                    continue
                current = await self._roll_over(current)
        finally:
            if current is not None:
                await current.close(self.settings.collector_close_timeout_seconds)

    async def _roll_over(self, current: Session) -> Session:
        self._rollover_wanted.clear()
        try:
            fresh = await self._open()
        except OPEN_ERRORS as exc:
            logger.warning(
                "%s: replacement connection failed (%s); retrying", self.spec.product, describe(exc)
            )
            self._next_rollover = time.monotonic() + min(
                5.0, self.settings.collector_backoff_max_seconds
            )
            return current
        self._status.counters.rollovers += 1
        logger.info("%s: rolled over to a fresh connection", self.spec.product)
        await current.close(self.settings.collector_close_timeout_seconds)
        return fresh

    async def _open(self) -> Session:
        s = self.settings
        ws = await websockets.connect(
            self.spec.url,
            open_timeout=s.collector_open_timeout_seconds,
            ping_interval=None,  # liveness is ours (see `_keepalive`), incl. for quiet feeds
            close_timeout=s.collector_close_timeout_seconds,
            max_size=s.collector_max_frame_bytes,
            max_queue=256,
            additional_headers=dict(self.spec.headers) or None,
        )
        session = Session(ws)
        if self.spec.subscribe is not None:
            try:
                await asyncio.wait_for(
                    self.spec.subscribe(ws, lambda raw: self._on_frame(session, raw)),
                    s.collector_open_timeout_seconds,
                )
            except BaseException:
                await session.close(s.collector_close_timeout_seconds)
                raise
        self.sessions_opened += 1
        rollover_after = self._rollover_after()
        self._next_rollover = None if rollover_after is None else session.opened + rollover_after
        session.tasks.append(
            asyncio.create_task(self._read(session), name=f"{self.spec.product}.read")
        )
        session.tasks.append(
            asyncio.create_task(self._keepalive(session), name=f"{self.spec.product}.ping")
        )
        return session

    def _on_frame(self, session: Session, raw: str | bytes) -> str | None:
        """Hand one frame to the collector; returns its reply for the venue, if any (sent by
        the reader, or during subscribe by the venue's hook that delivered the frame)."""
        recv_ts = now_ms()
        session.last_rx = time.monotonic()
        if session.rx_signal is not None:
            session.rx_signal.set()
        self._status.frame(self.state, recv_ts)
        try:
            return self._handle(self, raw, recv_ts)
        except Exception:  # the reader's supervisor: a parser bug must not stop the feed
            self._status.counters.errors += 1
            logger.exception("%s: frame handler failed on %.200r", self.spec.product, raw)
            return None

    async def _read(self, session: Session) -> None:
        count = 0
        recv = session.ws.recv
        try:
            # What `async for message in session.ws` does (a clean close ends it), without
            # its async generator: one hop less per frame.
            while True:
                try:
                    message = await recv()
                except ConnectionClosedOK:
                    break
                reply = self._on_frame(session, message)
                if reply is not None:
                    await session.ws.send(reply)
                count += 1
                if count % 128 == 0:
                    await asyncio.sleep(0)  # a burst must not starve the writer task
            ws = session.ws
            session.reason = session.reason or f"closed by the venue ({ws.close_code})"
        except ConnectionClosed as exc:
            session.reason = session.reason or describe(exc)
        finally:
            session.closed.set()

    async def _keepalive(self, session: Session) -> None:
        quiet, timeout = self.spec.quiet_seconds, self.settings.collector_pong_timeout_seconds
        last_ping = session.opened
        while not session.closed.is_set():
            since = last_ping if self.spec.ping_when_busy else max(session.last_rx, last_ping)
            idle = time.monotonic() - since
            if idle < quiet:
                await wait_any(session.closed, timeout=quiet - idle)
                continue
            sent = last_ping = time.monotonic()
            try:  # bounded even if a stalled peer lets our send buffer fill up
                answered = await asyncio.wait_for(self._ping(session, timeout), timeout + 1.0)
            except TimeoutError:
                answered = False
            except ConnectionClosed:
                return
            if session.closed.is_set():
                return
            if not answered and session.last_rx < sent:
                session.abort(f"no answer to a liveness ping within {timeout:g}s")
                return

    async def _ping(self, session: Session, timeout: float) -> bool:
        if self.spec.text_ping is not None:
            session.rx_signal = asyncio.Event()
            try:
                await session.ws.send(self.spec.text_ping)
                await wait_any(session.closed, session.rx_signal, timeout=timeout)
                return session.rx_signal.is_set()
            finally:
                session.rx_signal = None
        waiter = await session.ws.ping()
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            return False
        session.last_rx = time.monotonic()
        self._status.frame(self.state, now_ms())
        return True
