"""Load generators for bench/web.py: SSE client processes and a minimal HTTP client.

They must cost far less than the server they measure: an SSE client is a bare
asyncio.Protocol (no coroutine wake-up per chunk) in a uvloop process, and the request
generator speaks just enough HTTP/1.1 keep-alive (httpx costs ~1 ms a call).
"""

from __future__ import annotations

import asyncio
import collections
import resource
import time
from typing import Any

PROBES = 50
TOKEN = b"event: liquidation\n"


# --- client processes -----------------------------------------------------------------
class SseCounter(asyncio.Protocol):
    """One SSE client as a bare Protocol: no coroutine wake-up per chunk, so a client
    process can keep up with hundreds of connections; probes also time every event."""

    def __init__(self, probe: bool, hist: collections.Counter[int], ready: Any) -> None:
        self.probe = probe
        self.hist = hist
        self.ready = ready
        self.count = 0
        self.rest = b""
        self.started = False

    def connection_made(self, transport: Any) -> None:
        transport.write(b"GET /api/stream HTTP/1.1\r\nHost: bench\r\n\r\n")

    def data_received(self, chunk: bytes) -> None:
        if not self.started:
            if b"\r\n\r\n" not in chunk:
                return
            assert b" 200 " in chunk.split(b"\r\n", 1)[0], chunk[:200]
            self.started = True
            self.ready()
        if not self.probe:  # count tokens without copying the chunk
            joined = self.rest + chunk[: len(TOKEN) - 1]
            self.count += chunk.count(TOKEN) + joined.count(TOKEN)
            self.rest = chunk[-(len(TOKEN) - 1) :]
            return
        now_ms = time.time_ns() / 1e6
        data = self.rest + chunk
        cut = data.rfind(b"\n\n")
        if cut < 0:
            self.rest = data
            return
        done, self.rest = data[: cut + 2], data[cut + 2 :]
        self.count += done.count(TOKEN)
        start = 0
        while (pos := done.find(TOKEN + b"id: ", start)) >= 0:
            pos += len(TOKEN) + 4
            dash = done.index(b"-", pos)
            self.hist[int(now_ms - int(done[pos:dash]))] += 1
            start = dash


async def _clients_main(host: str, port: int, n: int, probes: int, conn: Any) -> None:
    hist: collections.Counter[int] = collections.Counter()
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    started = [0]

    def one_ready() -> None:
        started[0] += 1
        if started[0] == n:
            ready.set()

    clients: list[SseCounter] = []
    transports = []
    for i in range(n):
        transport, client = await loop.create_connection(
            lambda i=i: SseCounter(i < probes, hist, one_ready), host, port
        )
        clients.append(client)
        transports.append(transport)
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # do not flood the accept queue
    await asyncio.wait_for(ready.wait(), 60)
    conn.send("ready")
    await loop.run_in_executor(None, conn.recv)  # "stop"
    for transport in transports:
        transport.close()
    conn.send((dict(hist), [c.count for c in clients]))


def clients_process(host: str, port: int, n: int, probes: int, conn: Any) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    import uvloop

    uvloop.run(_clients_main(host, port, n, probes, conn))


class RawHttp:
    """A minimal HTTP/1.1 keep-alive GET client over a pool of connections: the load
    generator must cost far less than the server it measures (httpx costs ~1 ms a call)."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port, self.size = host, port, size
        self.pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self.size):
            self.pool.put_nowait(await asyncio.open_connection(self.host, self.port))

    async def get(self, path: str) -> int:
        reader, writer = await self.pool.get()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        self.pool.put_nowait((reader, writer))
        return status

    async def close(self) -> None:
        while not self.pool.empty():
            _, writer = self.pool.get_nowait()
            writer.close()
