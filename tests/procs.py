"""Run liqmon services as real child processes in tests (`liqmon run <service>`)."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


class ServiceProcess:
    def __init__(
        self, name: str, env: dict[str, str], log_dir: Path, more: tuple[str, ...] = ()
    ) -> None:
        self.name = name
        self.more = more  # `liqmon run <name> <more…>` (several collectors in one process)
        self.env = env
        self.log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "liqmon", "run", self.name, *self.more],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no chance to flush or ack."""
        if self.alive():
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait; SIGKILL after `timeout`. Returns the exit code."""
        assert self.proc is not None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return int(self.proc.returncode)


@contextlib.contextmanager
def running(name: str, env: dict[str, str], log_dir: Path) -> Iterator[ServiceProcess]:
    service = ServiceProcess(name, env, log_dir).start()
    try:
        yield service
    finally:
        service.stop()
