"""Which liquidated position a Gate `futures.public_liquidates` size stands for.

Gate's documentation does not settle it. The channel calls `size` the "liquidate order
quantity", and Gate signs order sizes (negative = sell), so a negative size would be a forced
sell, i.e. a LONG liquidated: the `order` convention, the best evidence and our start-up
reading. But the doc's example numbers are copied from the private channel, where `size` is
the position's size (negative = a SHORT position): the `position` convention.

So the collector does not trust either silently. Every liquidation it emits is also kept
here as a sample (contract, time, price, signed size; one per contract and second, bounded)
and `SideCheck` (the venue's supervisor) looks the samples up in Gate's public REST history
`GET /api/v4/futures/usdt/liq_orders`, whose rows carry both the position `size` and the
signed `order_size`. A row with the same contract, second (±1) and order price is a match;
the sign of its `order_size` against the push's sign is one vote for a convention. The
votes decide as `liqmon.collector.voted` says: the convention with more votes is in force
(ties keep the current one); a switch is logged loudly, once per direction, and applies
to liquidations parsed from then on (those already written keep their side). The status
hash's `notes` (shown by /api/health) say which convention is in force and on how many
matches it rests.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from liqmon.collector.voted import VotedReading

logger = logging.getLogger(__name__)

Convention = Literal["order", "position"]
RULES: Final[dict[Convention, str]] = {
    "order": "size < 0 ⇒ long liquidated (size is the liquidation order's: negative = forced sell)",
    "position": "size < 0 ⇒ short liquidated (size is the liquidated position's)",
}


@dataclass(slots=True)
class Sample:
    contract: str
    ts: int  # ms, the push's element time
    price: Decimal
    size: Decimal  # signed, as pushed
    attempts: int = 0


class SideConvention(VotedReading[Convention]):
    def __init__(
        self, initial: Convention = "order", *, max_samples: int = 500, max_attempts: int = 5
    ) -> None:
        super().__init__(
            initial, RULES, subject="GATE SIDE CONVENTION",
            source="the REST liquidation history", evidence="matched liquidations",
            logger=logger,
        )  # fmt: skip
        self.unmatched = 0  # samples given up after `max_attempts` lookups
        self._samples: OrderedDict[tuple[str, int], Sample] = OrderedDict()
        self._max_samples = max_samples
        self.max_attempts = max_attempts

    def side(self, size: Decimal) -> str:
        negative_is_long = self.in_force == "order"
        return "long" if (size < 0) == negative_is_long else "short"

    def observe(self, contract: str, ts: int, price: Decimal, size: Decimal) -> None:
        """Keep a liquidation to check against the REST history (one per contract and
        second: the history's time has one-second resolution)."""
        key = (contract, ts // 1000)
        if key in self._samples:
            return
        if len(self._samples) >= self._max_samples:
            self._samples.popitem(last=False)
        self._samples[key] = Sample(contract, ts, price, size)

    def pending(self, older_than_ms: int) -> list[Sample]:
        return [s for s in self._samples.values() if s.ts <= older_than_ms]

    def forget(self, sample: Sample) -> None:
        self._samples.pop((sample.contract, sample.ts // 1000), None)

    def give_up(self, sample: Sample) -> None:
        self.unmatched += 1
        self.forget(sample)

    def vote(self, sample: Sample, order_size: Decimal, now_ms: int) -> None:
        """One matched history row: its signed liquidation-order size against the push's."""
        self.forget(sample)
        said: Convention = "order" if (order_size < 0) == (sample.size < 0) else "position"
        self.cast(said, now_ms)

    @property
    def matched(self) -> int:
        return self.decided

    def notes(self) -> dict[str, str]:
        """What /api/health shows (via the status hash's `notes`)."""
        return {
            **self.reading_notes(
                "side",
                "convention",
                unconfirmed="documentation's best evidence, not yet confirmed by the REST history",
                source="REST liq_orders history",
                evidence="matched liquidations",
            ),
            "side_matched": str(self.matched),
            "side_unmatched": str(self.unmatched),
        }
