"""A stream entry in the collectors' own shape, recognised without building the event.

Building and validating a full `LiquidationEvent` (`from_fields`: Decimal parsing, the
dataclass checks) costs more than everything else the aggregator and the web do with an
entry. The collectors always write the same shape (`LiquidationEvent.to_fields`): the
documented fields in their order, plain decimal text, known names. `collector_shape`
checks exactly that shape, field by field, with string tests only; every entry it
accepts is one `from_fields` accepts too, with the same values, and its `price`/`qty`
texts are already what `to_fields`/`to_json_dict` write for them. Anything else — a
malformed entry, a number with an exponent or a leading zero, bytes — gets None, and the
caller takes the full path, which gives it the same verdict and the same error as ever.

Users: the aggregator (`liqmon_aggregator.prepared`) and the web's stream reader
(`liqmon_web.event_frames`); tests/test_entry_shape.py compares it with `from_fields`.
"""

from __future__ import annotations

import re
from typing import Any, Final

from liqmon.event import (
    FIELDS,
    MARGINS,
    MAX_CENTS,
    MAX_TS_MS,
    MIN_TS_MS,
    PRICE_KINDS,
    PRODUCTS,
    SCHEMA_VERSION,
    SIDES,
)

#: The field names in their documented order, as a list (compared with a reply's slice).
FIELD_LIST: Final = list(FIELDS)
#: Where each value sits in an entry's values (FIELDS order).
PRICE_AT: Final = FIELDS.index("price")
QTY_AT: Final = FIELDS.index("qty")

#: `usd` as the collectors write it (`cents_to_str`): ASCII digits, a point, two decimals.
#: At most 13 integer digits keeps it inside parse_decimal's length and magnitude limits.
_USD = re.compile(r"[0-9]{1,13}\.[0-9]{2}", re.ASCII)
#: A decimal as `format(Decimal, "f")` writes it, so the text is its own canonical form:
#: no sign, exponent or leading zero. At most 16 integer digits and 29 decimals keep it
#: inside parse_decimal's magnitude limits (1e-30 .. 1e16) and its 64 characters.
#: Only those above zero (one regex: this runs twice per event): a leading 1-9, or "0."
#: and decimals with a non-zero digit among them.
_POSITIVE_PLAIN = re.compile(
    r"[1-9][0-9]{0,15}(?:\.[0-9]{1,29})?|0\.(?=0{0,28}[1-9])[0-9]{1,29}", re.ASCII
)
#: orjson writes integers of 64 bits; `recv_ts` outside them takes the full path.
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_COUNT = len(FIELDS)


def _positive_plain(text: Any) -> bool:
    """Is `text` a plain decimal (see `_POSITIVE_PLAIN`) above zero?"""
    return type(text) is str and _POSITIVE_PLAIN.fullmatch(text) is not None


def collector_shape(values: list[Any]) -> tuple[int, int, int] | None:
    """`(ts, recv_ts, usd_cents)` of an entry's values (in FIELDS order) when the entry is
    in the collectors' shape, else None (the caller takes `LiquidationEvent.from_fields`).

    Checks what `from_fields` and `__post_init__` check, as plain string tests. Accepted
    values equal the event's: `ts`, `recv_ts`, `usd_cents` as returned; `id`, `exchange`,
    `product`, `margin`, `instrument`, `symbol`, `side`, `price_kind` as given; `price`
    and `qty` as given are `format(event.price, "f")`, `format(event.qty, "f")`;
    `sampled` is `values[14] == "1"`."""
    if len(values) != _COUNT:
        return None
    v, id_, exchange, product, margin, instrument, symbol, side, price, kind, qty, usd, *rest = (
        values
    )
    try:
        ts, recv_ts = int(rest[0]), int(rest[1])
    except (ValueError, TypeError):
        return None
    if (
        v != SCHEMA_VERSION
        or type(usd) is not str
        or _USD.fullmatch(usd) is None
        or type(id_) is not str
        or type(symbol) is not str
        or type(instrument) is not str
        or type(rest[2]) is not str
        or not 0 < len(symbol) <= 64
        or not 0 < len(instrument) <= 64
        or not id_
        or product not in PRODUCTS.get(exchange, ())
        or side not in SIDES
        or margin not in MARGINS
        or kind not in PRICE_KINDS
        or not MIN_TS_MS <= ts < MAX_TS_MS
        or not _INT64_MIN <= recv_ts <= _INT64_MAX
        or not _positive_plain(price)
        or not _positive_plain(qty)
    ):
        return None
    cents = int(usd.replace(".", ""))  # "1234.50" -> 123450: exactly two decimals
    if cents > MAX_CENTS:
        return None
    return ts, recv_ts, cents
