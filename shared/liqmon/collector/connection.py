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
from dataclasses import dataclass

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, WebSocketException

from liqmon.bus import now_ms
from liqmon.collector.status import CollectorStatus
from liqmon.collector.timing import Backoff, wait_any, wait_or_stop
from liqmon.collector.venue import FeedSpec, SubscribeError

logger = logging.getLogger(__name__)
OPEN_ERRORS = (OSError, TimeoutError, WebSocketException, SubscribeError)


@dataclass(frozen=True)
class ConnectionConfig:
    pong_timeout: float = 10.0
    open_timeout: float = 10.0
    close_timeout: float = 2.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    max_frame_bytes: int = 16 * 1024 * 1024
    #: Rollover starts this long before the venue's cut-off (at most 10 % of the lifetime).
    rollover_lead: float = 300.0


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
        self, spec: FeedSpec, config: ConnectionConfig, handle: Handler, status: CollectorStatus
    ) -> None:
        self.spec = spec
        self.config = config
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
        return lifetime - min(self.config.rollover_lead, lifetime * 0.1)

    async def run(self, stop: asyncio.Event) -> None:
        backoff = Backoff(self.config.backoff_initial, self.config.backoff_max)
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
                        if await wait_or_stop(stop, backoff.next_delay()):
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
                    await current.close(self.config.close_timeout)
                    current = None
                    if await wait_or_stop(stop, backoff.next_delay()):
                        break
                    continue
                current = await self._roll_over(current)
        finally:
            if current is not None:
                await current.close(self.config.close_timeout)

    async def _roll_over(self, current: Session) -> Session:
        self._rollover_wanted.clear()
        try:
            fresh = await self._open()
        except OPEN_ERRORS as exc:
            logger.warning(
                "%s: replacement connection failed (%s); retrying", self.spec.product, describe(exc)
            )
            self._next_rollover = time.monotonic() + min(5.0, self.config.backoff_max)
            return current
        self._status.counters.rollovers += 1
        logger.info("%s: rolled over to a fresh connection", self.spec.product)
        await current.close(self.config.close_timeout)
        return fresh

    async def _open(self) -> Session:
        cfg = self.config
        ws = await websockets.connect(
            self.spec.url,
            open_timeout=cfg.open_timeout,
            ping_interval=None,  # liveness is ours (see `_keepalive`), incl. for quiet feeds
            close_timeout=cfg.close_timeout,
            max_size=cfg.max_frame_bytes,
            max_queue=256,
            additional_headers=dict(self.spec.headers) or None,
        )
        session = Session(ws)
        if self.spec.subscribe is not None:
            try:
                await asyncio.wait_for(
                    self.spec.subscribe(ws, lambda raw: self._on_frame(session, raw)),
                    cfg.open_timeout,
                )
            except BaseException:
                await session.close(cfg.close_timeout)
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
        try:
            async for message in session.ws:
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
        quiet, timeout = self.spec.quiet_seconds, self.config.pong_timeout
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
