"""What unit a Bybit inverse liquidation's `v` is in: USD contracts, or coins.

Bybit's `allLiquidation` page does not say. USD (1-USD contracts: `usd = v`) is our start-up
reading, by analogy with Bybit's kline and open-interest pages and the one recorded inverse
frame (docs/venues/bybit.md). Every `bybit-inverse` total rests on it, so the collector does
not trust it silently: each inverse liquidation is checked against a second source, the
instrument listing's `lotSizeFilter.qtyStep` (`/v5/market/instruments-info`, which the
collector loads anyway), and its own price:

- `v` NOT a whole multiple of the listing's `qtyStep` cannot be a number of contracts: one
  vote for **coins**;
- `v` a whole multiple whose coin reading (`v × p`) would be a liquidation of more than
  `COINS_IMPLAUSIBLE_USD` cannot be coins: one vote for **USD**;
- anything else (a cheap coin's whole-number size fits both) decides nothing, and a symbol
  the listing does not show (or shows without a step) is not checked.

The votes decide as `liqmon.collector.voted` says (as for Gate's side convention), with at
least `MIN_SWITCH_VOTES` for a switch: one odd size must not revalue a venue. A liquidation
votes once its event is built (a refused one does not vote), and the one whose vote
switches the unit is valued by the new unit. An event's id is over the venue's own `v` and
`p` whatever the unit. The votes are this process's: a restart, or another replica, starts
again from USD (if Bybit sent coins, each would value its first few inverse liquidations
as USD before switching).
The status hash's `notes` (shown by /api/health) say which unit is in force and on what.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Final, Literal

from liqmon.collector.valuation import EXACT, mul
from liqmon.collector.voted import VotedReading

logger = logging.getLogger(__name__)

Unit = Literal["usd", "coins"]
RULES: Final[dict[Unit, str]] = {
    "usd": "inverse v is USD (1-USD contracts): usd = v, qty = v / p",
    "coins": "inverse v is coins: usd = v × p, qty = v (to 8 decimals)",
}
#: A coin reading above this would be a single liquidation of a billion dollars, far beyond
#: any a venue has printed: such a `v` is USD.
COINS_IMPLAUSIBLE_USD: Final = Decimal("1e9")
#: Votes the other unit needs at least before it can take over.
MIN_SWITCH_VOTES: Final = 5
_ZERO: Final = Decimal(0)


class InverseUnit(VotedReading[Unit]):
    def __init__(self, initial: Unit = "usd") -> None:
        super().__init__(
            initial, RULES, subject="BYBIT INVERSE UNIT",
            source="the instrument listing's qtyStep", evidence="deciding liquidations",
            logger=logger, min_switch_votes=MIN_SWITCH_VOTES,
        )  # fmt: skip
        self.ambiguous = 0  # fits both readings
        self.unchecked = 0  # no qtyStep to check against

    def usd_value(self, v: Decimal, price: Decimal) -> Decimal:
        """`v` in USD by the unit in force."""
        return v if self.in_force == "usd" else mul(v, price)

    def observe(self, v: Decimal, price: Decimal, qty_step: Decimal | None, now: int) -> bool:
        """One liquidation's evidence (see the module doc); True if it switched the unit."""
        if qty_step is None or qty_step <= 0:
            self.unchecked += 1
            return False
        # exact: sizes and steps are bounded decimals (`parse_decimal`), the quotient is far
        # inside EXACT's 80 digits
        if EXACT.remainder(v, qty_step) != _ZERO:
            return self.cast("coins", now)
        if mul(v, price) > COINS_IMPLAUSIBLE_USD:
            return self.cast("usd", now)
        self.ambiguous += 1
        return False

    def notes(self) -> dict[str, str]:
        """What /api/health shows (via the status hash's `notes`)."""
        return {
            **self.reading_notes(
                "inverse_v",
                "unit",
                unconfirmed="documentation's analogy (kline, open interest), not yet confirmed: "
                "no inverse liquidation has decided it against the listing's qtyStep",
                source="listing qtyStep and sizes",
                evidence="deciding inverse liquidations",
            ),
            "inverse_v_ambiguous": str(self.ambiguous),
            "inverse_v_unchecked": str(self.unchecked),
        }
