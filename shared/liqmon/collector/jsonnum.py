"""Exact numbers from venues that send them as JSON numbers (Kraken Futures, Bitfinex).

Most venues send prices and sizes as decimal strings, which `liqmon.event.parse_decimal`
reads. Some send bare JSON numbers (`"qty":12000,"price":0.1736`); reading those through a
binary float would round digits the notional depends on, so such frames are decoded with
`loads_exact` (every non-integer number becomes a `Decimal` built from its own digits) and
their fields read with `number_field`. NaN and infinities are refused while decoding.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, NoReturn

import orjson

from liqmon.collector.frames import MalformedFrame
from liqmon.event import parse_decimal


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number")


def loads_exact(raw: str | bytes) -> Any:
    """JSON -> Python with `Decimal` for every number that has a fraction or an exponent."""
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, 4300-digit ints, NaN
        raise MalformedFrame(f"invalid JSON: {str(exc)[:120]}") from None


def number_field(obj: dict[Any, Any] | list[Any], key: str | int, name: str) -> Decimal:
    """A positive, finite amount sent as a JSON number (int or exact decimal) or a decimal
    string; anything else (bool, null, zero, negative, absurd magnitude) is malformed."""
    value = obj.get(key) if isinstance(obj, dict) else _at(obj, key)
    return parse_decimal(as_text(value, name), name)


def signed_number(obj: list[Any], index: int, name: str) -> Decimal:
    """A non-zero signed number (Bitfinex `AMOUNT`: the sign is the position's side)."""
    value = _at(obj, index)
    text = as_text(value, name)
    negative = text.startswith("-")
    magnitude = parse_decimal(text[1:] if negative else text, name)
    return -magnitude if negative else magnitude


def as_text(value: object, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise MalformedFrame(f"{name}: expected a number, got {value!r:.60}")
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() and abs(value.adjusted()) < 40 else "x"
    return str(value)


def _at(obj: list[Any], index: str | int) -> object:
    if not isinstance(index, int) or index >= len(obj):
        return None
    return obj[index]


def dumps_exact(obj: object) -> str:
    """JSON text of a `loads_exact` value (Decimals written with their own digits), for
    the dead letters of one part of a frame."""
    if isinstance(obj, Decimal):
        return format(obj, "f")
    if isinstance(obj, list):
        return "[" + ",".join(dumps_exact(v) for v in obj) + "]"
    if isinstance(obj, dict):
        return (
            "{" + ",".join(f"{dumps_exact(str(k))}:{dumps_exact(v)}" for k, v in obj.items()) + "}"
        )
    try:
        return orjson.dumps(obj).decode()
    except TypeError:
        return "null"
