"""The busy-stream linger rule (liqmon.linger): a big batch lingers only if it came fast.

At 1,000 events/s one hiccup can make a batch of BUSY_FROM; if that alone made the next
call wait 50 ms, the next batch would hold 50 events and wait again, for as long as the
rate lasted (every event up to 50 ms later). The rate condition lets go at once.
"""

from __future__ import annotations

from liqmon.linger import BUSY_FROM, BUSY_RATE, lingers

LINGER_S = 0.05
FULL = 5000


def test_a_first_busy_batch_lingers_and_a_small_or_full_one_never() -> None:
    assert lingers(BUSY_FROM, FULL, LINGER_S, 0.0)  # a first call: its events were all there
    assert not lingers(BUSY_FROM - 1, FULL, LINGER_S, 0.0)
    assert not lingers(FULL, FULL, LINGER_S, 0.0)  # a backlog: the next is full already
    assert not lingers(BUSY_FROM, FULL, 0.0, 0.0)  # linger off


def test_at_an_everyday_rate_a_lingered_batch_does_not_linger_again() -> None:
    # a hiccup: 40 events over 40 ms at 1,000/s; the next call after the linger: 50 in 50 ms
    assert not lingers(40, FULL, LINGER_S, 0.040)
    assert not lingers(50, FULL, LINGER_S, LINGER_S)


def test_at_a_crash_rate_the_linger_holds() -> None:
    # 13,000/s: 650 events per 50 ms linger, and so on while the rate lasts
    assert lingers(650, FULL, LINGER_S, LINGER_S)
    per_linger = int(BUSY_RATE * LINGER_S)
    assert lingers(per_linger, FULL, LINGER_S, LINGER_S)
    assert not lingers(per_linger - 1, FULL, LINGER_S, LINGER_S)
