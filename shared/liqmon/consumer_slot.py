"""Stable consumer names for a consumer group, leased from numbered slots.

A consumer's name must survive a restart, or the restarted process would not find its own
pending entries (they would wait for another consumer's janitor). The aggregator and the
alerter therefore take the name from their settings as is (one process per name!), or
lease the lowest free slot `<prefix><n>` (SET NX PX, owner = this process's token): several
processes on one host get distinct names, and a restarted one usually gets its old name
back. The heartbeat refreshes the lease; a clean stop gives it back.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis

logger = logging.getLogger(__name__)

MAX_SLOTS = 64


def owner_token() -> str:
    """This process, uniquely: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class SlotLease:
    """The lease on one slot. `slot_key(n)` is slot n's key; nothing is leased until
    `acquire` (a configured name needs no lease, and then refresh and release do nothing)."""

    redis: Redis
    slot_key: Callable[[int], str]
    prefix: str  # the names are `<prefix><n>`
    token: str  # the owner's (owner_token())
    ttl_ms: int
    slot: int | None = field(default=None, init=False)

    async def acquire(self) -> str:
        """Lease the lowest free slot; returns its consumer name (`<prefix><n>`)."""
        for slot in range(1, MAX_SLOTS + 1):
            if await self.redis.set(self.slot_key(slot), self.token, nx=True, px=self.ttl_ms):
                self.slot = slot
                return f"{self.prefix}{slot}"
        raise RuntimeError(f"all {MAX_SLOTS} {self.prefix}<n> slots are leased")

    async def refresh(self) -> None:
        """Extend our lease; take the slot again if it lapsed; warn if another owns it
        (harmless: consumers sharing a name only duplicate work the handlers dedup)."""
        if self.slot is None:
            return
        key = self.slot_key(self.slot)
        owner = await self.redis.get(key)
        if owner == self.token:
            await self.redis.pexpire(key, self.ttl_ms)
        elif owner is None:
            await self.redis.set(key, self.token, nx=True, px=self.ttl_ms)
        else:
            logger.warning("slot lease %s%d taken over by %s", self.prefix, self.slot, owner)

    async def release(self) -> None:
        """Give the slot back if it is still ours."""
        if self.slot is None:
            return
        key = self.slot_key(self.slot)
        if await self.redis.get(key) == self.token:
            await self.redis.delete(key)
