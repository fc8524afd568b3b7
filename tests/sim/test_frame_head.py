"""The simulator queues its pushes with its own frame header (`frame_head`): it must be
byte for byte what websockets itself writes, at every length boundary of RFC 6455."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from liqmon_sim.frames import frame_head


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65_535, 65_536, 1 << 20])
@pytest.mark.parametrize("binary", [False, True])
def test_frame_head_is_what_websockets_writes(length: int, binary: bool) -> None:
    payload = b"x" * length
    expected = Frame(Opcode.BINARY if binary else Opcode.TEXT, payload).serialize(
        mask=False, extensions=[]
    )
    assert frame_head(length, binary) + payload == expected
