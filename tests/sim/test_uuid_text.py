"""`frames.uuid_text`: the text `uuid.UUID` writes for the venues' random ids, without one."""

from __future__ import annotations

import random
import uuid

from liqmon_sim.frames import uuid_text


def test_the_same_text_as_uuid() -> None:
    rng = random.Random(3)
    for bits in [0, 1, (1 << 128) - 1] + [rng.getrandbits(128) for _ in range(5000)]:
        assert uuid_text(bits) == str(uuid.UUID(int=bits))
        assert uuid_text(bits, version4=True) == str(uuid.UUID(int=bits, version=4))
