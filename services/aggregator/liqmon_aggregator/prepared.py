"""One stream entry ready to fold: the values fold needs, checked, with its price limbs.

`prepare_entry` is the aggregator's hot path (`prepare_fields`, the same for a decoded
entry, serves rebuild). Building and validating a full
`LiquidationEvent` per entry costs most of the aggregator's CPU, and fold needs only a
few of its values, so an entry in the shape the collectors write (every field a plain
decimal or short string) is checked directly (`liqmon.entry_shape`, which the web's
stream reader shares), field by field, and anything else —
a malformed entry, a number written with an exponent, bytes — goes through
`LiquidationEvent.from_fields`, which gives it the same verdict and the same error as
ever. The quick checks only ever accept what `from_fields` accepts, with the same values
(tests/aggregator/test_prepared.py compares the two); the full event is built only for
the few entries whose JSON a batch stores (a bucket's new largest event, fold.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import orjson

from liqmon.consumer_group import entry_dict
from liqmon.entry_shape import FIELD_LIST, PRICE_AT, collector_shape
from liqmon.event import FIELDS, LiquidationEvent
from liqmon.keys import id_field
from liqmon.windows import plain_price_units, price_units, price_weight

MAX_ID_BYTES = 128
#: The side as apply.lua's field names spell it.
SIDE_LETTER = {"long": "L", "short": "S"}


@dataclass(slots=True)
class Prepared:
    """What fold reads of one entry. `side` is "L" or "S"; `weight` its share of the
    coin's average price (`liqmon.windows.price_weight`); `id_key` the dedup field of the
    id; `source` the parsed event, or the entry's values (in FIELDS order) until the event
    is needed (`member_json`)."""

    stream_id: str
    id: str
    exchange: str
    instrument: str
    symbol: str
    side: str
    ts: int
    usd_cents: int
    sampled: bool
    weight: int
    id_key: bytes
    source: LiquidationEvent | list[str]

    @property
    def event(self) -> LiquidationEvent:
        if not isinstance(self.source, LiquidationEvent):
            self.source = _checked_event(self)
        return self.source

    def member_json(self) -> str:
        return orjson.dumps(self.event.to_json_dict(self.stream_id)).decode()


def _checked_event(p: Prepared) -> LiquidationEvent:
    """The event of an entry `_quick` accepted, from its values as they are: `from_fields`
    would re-parse them (a dict, three decimals, the cents) to the same values, at several
    times the cost. `Decimal(text)` is what `parse_decimal` returns for a positive price or
    qty, and the event's own checks still run."""
    values = p.source
    assert isinstance(values, list)
    return LiquidationEvent(
        id=p.id, exchange=p.exchange, product=values[3],
        margin=values[4],  # type: ignore[arg-type]  # checked by _quick and __post_init__
        instrument=p.instrument, symbol=p.symbol,
        side=values[7],  # type: ignore[arg-type]
        price=Decimal(values[8]),
        price_kind=values[9],  # type: ignore[arg-type]
        qty=Decimal(values[10]), usd_cents=p.usd_cents, ts=p.ts, recv_ts=int(values[13]),
        sampled=p.sampled,
    )  # fmt: skip


def prepare(stream_id: str, event: LiquidationEvent) -> Prepared:
    """Raises ValueError for an event the windows cannot hold (absurd price, huge id)."""
    weight = price_weight(price_units(event.price), event.usd_cents)
    key = id_field(event.id)
    if len(key) > MAX_ID_BYTES:
        raise ValueError(f"event id longer than {MAX_ID_BYTES} bytes")
    return Prepared(
        stream_id, event.id, event.exchange, event.instrument, event.symbol,
        SIDE_LETTER[event.side], event.ts, event.usd_cents, event.sampled, weight, key, event,
    )  # fmt: skip


def prepare_fields(stream_id: str, fields: dict[str, str]) -> Prepared:
    """A stream entry's fields -> Prepared; raises InvalidEvent / ValueError exactly as
    `prepare(stream_id, LiquidationEvent.from_fields(fields))` does."""
    try:
        values = list(map(fields.__getitem__, FIELDS))
    except KeyError:
        values = None
    quick = _quick(stream_id, values) if values is not None else None
    return quick if quick is not None else prepare(stream_id, LiquidationEvent.from_fields(fields))


def prepare_entry(stream_id: str, flat: list[str]) -> Prepared:
    """The same for an entry as Redis sends it, `[field, value, field, value, …]`: an entry
    with exactly the documented fields in their order needs no dict."""
    if flat[0::2] == FIELD_LIST:
        quick = _quick(stream_id, flat[1::2])
        if quick is not None:
            return quick
    return prepare(stream_id, LiquidationEvent.from_fields(entry_dict(flat)))


def _quick(stream_id: str, values: list[str]) -> Prepared | None:
    """The checks of `from_fields`, `__post_init__` and `prepare` for an entry in the
    collectors' own shape (`values` in FIELDS order; `liqmon.entry_shape`); None for
    anything else (the caller takes the full path)."""
    shape = collector_shape(values)
    if shape is None:
        return None
    ts, _recv_ts, cents = shape  # recv_ts checked (an integer), not folded
    units = plain_price_units(values[PRICE_AT])
    if units is None:
        return None
    try:
        weight = price_weight(units, cents)
    except ValueError:  # the full path says which
        return None
    id_ = values[1]
    key = id_field(id_)
    if len(key) > MAX_ID_BYTES:
        return None
    return Prepared(
        stream_id, id_, values[2], values[5], values[6], SIDE_LETTER[values[7]], ts, cents,
        values[14] == "1", weight, key, values,
    )  # fmt: skip
