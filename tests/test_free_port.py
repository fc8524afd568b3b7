"""`free_port`: a port a child process can still bind a moment later."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from liqmon.embedded_redis import free_port

RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


@pytest.mark.skipif(not RANGE.exists(), reason="the ephemeral range is Linux's")
def test_ports_come_from_below_the_ephemeral_range_and_are_not_repeated() -> None:
    low = int(RANGE.read_text().split()[0])
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(port < low for port in ports)  # never an outgoing connection's local port
    for port in ports[:20]:  # and free: bindable now
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))
