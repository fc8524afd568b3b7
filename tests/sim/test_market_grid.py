"""`market.Grid`: the Decimal and the float a grid's units stand for, built without Decimal
arithmetic, are exactly what `Decimal.scaleb` and `float(Decimal)` give."""

from __future__ import annotations

import random
from decimal import Decimal

from liqmon_sim.market import Grid


def test_units_to_decimal_and_float_as_decimal_does() -> None:
    rng = random.Random(4)
    for exp in range(-12, 9):
        for step in (Decimal(1).scaleb(exp), Decimal(10).scaleb(exp)):
            grid = Grid.of(step)
            for units in [1, 9, 10, 999_999] + [
                rng.randrange(1, 10 ** rng.randint(1, 15)) for _ in range(300)
            ]:
                exact = Decimal(units).scaleb(grid.exp)
                built = Decimal(units) * grid.one
                assert str(built) == str(exact) and built.as_tuple() == exact.as_tuple()
                assert units * grid.num / grid.den == float(exact)
