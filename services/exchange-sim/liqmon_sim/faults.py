"""Fault knobs any scenario can turn on; also changeable at run time (`action=faults`).

Fractions are per generated frame and drawn from the simulator's seeded fault RNG, so a
seed reproduces which frames are broken, duplicated or late.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

MALFORMED_KINDS: tuple[str, ...] = (
    "invalid_json",
    "missing_field",
    "wrong_type",
    "negative",
    "zero",
    "nan",
    "huge",
    "oversize",
    "non_ascii_symbol",
    "unknown_instrument",
)


@dataclass(frozen=True, slots=True)
class Faults:
    malformed_fraction: float = 0.0  # share of frames replaced by a broken one
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    duplicate_fraction: float = 0.0  # share of frames that re-send an earlier liquidation
    okx_late_fraction: float = 0.0  # OKX events stamped `okx_late_ms` in the past
    okx_late_ms: int = 600_000
    okx_out_of_order_fraction: float = 0.0  # OKX events stamped up to this far back
    okx_out_of_order_ms: int = 5_000
    okx_replay_on_subscribe: bool = False  # first push after subscribe repeats an old event
    disconnect_every_s: float = 0.0  # drop every client of every venue this often (0 = never)

    def __post_init__(self) -> None:
        for name in (
            "malformed_fraction", "duplicate_fraction", "okx_late_fraction",
            "okx_out_of_order_fraction",
        ):  # fmt: skip
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        unknown = set(self.malformed_kinds) - set(MALFORMED_KINDS)
        if unknown or not self.malformed_kinds:
            raise ValueError(f"malformed_kinds must be a non-empty subset of {MALFORMED_KINDS}")
        if self.okx_late_ms < 0 or self.okx_out_of_order_ms < 0 or self.disconnect_every_s < 0:
            raise ValueError("okx_late_ms, okx_out_of_order_ms, disconnect_every_s must be >= 0")

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with `changes` applied; unknown names and bad values raise ValueError."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown fault knob(s): {', '.join(sorted(unknown))}")
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            current = getattr(self, key)
            try:
                if isinstance(current, tuple):
                    items = value.split(",") if isinstance(value, str) else list(value)
                    clean[key] = tuple(str(v).strip() for v in items if str(v).strip())
                elif isinstance(current, bool):
                    clean[key] = (
                        value
                        if isinstance(value, bool)
                        else str(value).lower() in ("1", "true", "yes")
                    )
                elif isinstance(current, int):
                    clean[key] = int(value)
                else:
                    clean[key] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"{key}: cannot use {value!r}") from None
        return dataclasses.replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
