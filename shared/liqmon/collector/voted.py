"""A venue rule its documentation leaves open, read one of two ways, and the votes a second
source casts for each while the collector runs (docs/ARCHITECTURE.md "Rules decided at run
time"): Gate's side convention (`liqmon_gate.side`), Bybit's inverse size unit
(`liqmon_bybit.inverse_unit`). What casts a vote is the venue's; what a vote does is here.

The reading in force is the one with more votes (a tie keeps the current one), once the
other has at least `min_switch_votes`. A switch is logged at ERROR, once per direction (a
reading that flips back and forth must not flood the log), and applies to liquidations
parsed from then on: the stream is append-only, and event ids are over the venue's own
values, so a switch never duplicates an event.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Generic, TypeVar

R = TypeVar("R", bound=str)


class VotedReading(Generic[R]):
    def __init__(
        self,
        initial: R,
        rules: Mapping[R, str],
        *,
        subject: str,
        source: str,
        evidence: str,
        logger: logging.Logger,
        min_switch_votes: int = 1,
    ) -> None:
        """`rules`: each of the two readings -> its rule in words; `subject`, `source`,
        `evidence`: the switch's log line ("<SUBJECT> SWITCHED: <source> disagrees with the
        'x' reading (n of m <evidence> say 'y')"), on the venue's `logger`."""
        if initial not in rules or len(rules) != 2:
            raise ValueError(f"{subject}: {initial!r} is not one of two readings {list(rules)}")
        self.initial: R = initial
        self.in_force: R = initial
        self.rules = rules
        self.votes: dict[R, int] = dict.fromkeys(rules, 0)
        self.switched_at = 0  # ms of the latest switch (0: never)
        self._other = {a: b for a in rules for b in rules if a != b}
        self._log = (subject, source, evidence, logger)
        self._min = min_switch_votes
        self._logged: set[tuple[R, R]] = set()

    @property
    def decided(self) -> int:
        """Votes cast so far, for either reading."""
        return sum(self.votes.values())

    def cast(self, said: R, now_ms: int) -> bool:
        """One vote of the second source for the reading `said`; True if it switched."""
        self.votes[said] += 1
        other = self._other[self.in_force]
        if self.votes[other] <= max(self.votes[self.in_force], self._min - 1):
            return False
        previous, self.in_force, self.switched_at = self.in_force, other, now_ms
        if (previous, other) not in self._logged:
            self._logged.add((previous, other))
            subject, source, evidence, logger = self._log
            logger.error(
                "%s SWITCHED: %s disagrees with the %r reading (%d of %d %s say %r). "
                "From now on: %s",
                subject, source, previous, self.votes[other], self.decided, evidence,
                other, self.rules[other],
            )  # fmt: skip
        return True

    def reading_notes(
        self, prefix: str, name: str, *, unconfirmed: str, source: str, evidence: str
    ) -> dict[str, str]:
        """The reading's part of a venue's status `notes` (/api/health), keys `<prefix>_…`:
        the reading in force (`<prefix>_<name>`), its rule, what it rests on (`unconfirmed`
        before any vote, else "<source>: n of m <evidence> agree"), the votes and the
        latest switch."""
        agree = f"{source}: {self.votes[self.in_force]} of {self.decided} {evidence} agree"
        return {
            f"{prefix}_{name}": self.in_force,
            f"{prefix}_rule": self.rules[self.in_force],
            f"{prefix}_basis": unconfirmed if self.decided == 0 else agree,
            **{f"{prefix}_votes_{reading}": str(n) for reading, n in self.votes.items()},
            f"{prefix}_switched_at": str(self.switched_at),
        }
