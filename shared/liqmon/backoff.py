"""The one retry backoff of the code base: capped exponential delays with jitter.

Every loop that retries something that failed (a venue connection, a Redis write, a child
process, a stream reader, a refused subscription) asks a `Backoff` for its next delay and
resets it after a success, so a fleet of processes does not retry in lockstep after a
shared outage and no loop hammers a peer that is down.
"""

from __future__ import annotations

import random


class Backoff:
    """Delays `initial·2ⁿ` capped at `cap` (n = failures in a row), each drawn uniformly
    from [½d, d] (jitter)."""

    def __init__(self, initial: float, cap: float) -> None:
        if not 0 < initial <= cap:
            raise ValueError(f"need 0 < initial <= cap, got {initial} and {cap}")
        self.initial = initial
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        ceiling = min(self.cap, self.initial * (2 ** min(self.failures, 30)))
        self.failures += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """After a success: the next failure waits `initial` again."""
        self.failures = 0
