"""Capped exponential backoff, the one retry pacing every liqmon loop uses."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """`next()` returns initial, initial·factor, … up to `maximum`; `reset()` starts over.

    `jitter` (0..1) shortens each delay by a random fraction of itself, so replicas that
    lost the same peer at the same moment do not all retry in step.
    """

    initial: float
    maximum: float
    factor: float = 2.0
    jitter: float = 0.0
    #: `next()` calls since the last `reset()`: failures in a row, for a caller's logging.
    failures: int = field(default=0, init=False)
    _current: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError(f"invalid backoff {self!r}")

    def next(self) -> float:
        self.failures += 1
        self._current = (
            self.initial if not self._current else min(self._current * self.factor, self.maximum)
        )
        return self._current * (1 - self.jitter * random.random())

    def reset(self) -> None:
        self._current = 0.0
        self.failures = 0
