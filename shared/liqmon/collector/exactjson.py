"""JSON whose numbers are read as exact decimals, for venues that send bare JSON numbers.

Binance, OKX and Bybit send every amount as a decimal string, which `parse_decimal` reads.
HTX sends `"volume":227.0,"price":23350.5` and Gate sends `price` and `size` sometimes as
numbers, sometimes as strings. Reading those through a binary float would lose digits
(`0.1 + 0.2`), so such frames are parsed with every non-integer number kept as the
`Decimal` of its exact text; integers stay `int`. `NaN`/`Infinity` tokens are refused.
BitMEX and Deribit frames are read the same way. `frames.dump_part` writes such a part
back (every `Decimal` as the number it was read from) for a dead letter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, NoReturn

from liqmon.collector.frames import MalformedFrame
from liqmon.event import InvalidEvent, checked_decimal, parse_decimal


def _no_constants(token: str) -> NoReturn:
    raise MalformedFrame(f"invalid JSON: {token} is not a number")


_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constants)
_scan: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_JSON_SPACE = frozenset(" \t\n\r")


def load_exact(raw: str) -> Any:
    """Parse a frame with exact numbers; `MalformedFrame` if it is not JSON."""
    try:
        if raw and raw[0] not in _JSON_SPACE:
            # What `decode` does for text without surrounding space, minus its two regex
            # scans; anything else (and every error) takes `decode` for its exact message.
            try:
                value, end = _scan(raw, 0)
            except StopIteration:
                pass
            else:
                if end == len(raw):
                    return value
        return _DECODER.decode(raw)
    except MalformedFrame:
        raise
    except RecursionError:
        raise MalformedFrame("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
        raise MalformedFrame(f"invalid JSON: {str(exc)[:200]}") from None


def _as_text(value: object, name: str) -> str:
    if isinstance(value, bool) or value is None:
        raise InvalidEvent(f"{name}: expected a number, got {value!r:.60}")
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, str):
        return value
    raise InvalidEvent(f"{name}: expected a number, got {type(value).__name__}")


#: Integers below this are what `parse_decimal` accepts of their text (a positive magnitude
#: of at most 15): such an integer is its `Decimal` at once.
_INT_BOUND: Final = 10**16


def positive_number(value: object, name: str) -> Decimal:
    """A positive finite amount sent as a JSON number or a decimal string."""
    if type(value) is int and 0 < value < _INT_BOUND:
        return Decimal(value)  # = Decimal(str(value)), the same digits and exponent 0
    if type(value) is Decimal:  # a JSON number with a fraction: already read exactly
        text = str(value)  # what parse_decimal would read back: the same Decimal
        if len(text) > 64:
            raise InvalidEvent(f"{name}: expected a decimal string, got {text!r:.80}")
        return checked_decimal(value, text, name)
    return parse_decimal(_as_text(value, name), name)


def signed_number(value: object, name: str) -> Decimal:
    """A non-zero finite amount whose sign carries meaning (Gate `size`)."""
    text = _as_text(value, name)
    negative = text.startswith("-")
    magnitude = parse_decimal(text[1:] if negative else text, name)
    return -magnitude if negative else magnitude
