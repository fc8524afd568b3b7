"""The liquidation event: schema version 1 of the public `liq:v1:events` stream.

Collectors normalise each raw exchange liquidation into one `LiquidationEvent` at the
edge; everything downstream (aggregator, web, outside consumers) sees only this shape.
The stream entry is flat string fields (docs/EVENTS.md documents them with a JSON
Schema). Money is exact: `price`, `qty` and `usd` are `Decimal` while in Python and
decimal strings on the wire; `usd` is rounded to the cent, half-even, and `usd_cents`
is the integer the aggregator adds up. Binary floats never touch these values.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Final, Literal, get_args

from liqmon.venues import PRODUCTS as PRODUCTS  # re-exported: what an event may name

SCHEMA_VERSION: Final = "1"

Side = Literal["long", "short"]
Margin = Literal["linear", "inverse"]
#: `fill`: the price of the trade the venue flags as a liquidation (dYdX, Kraken, Deribit);
#: `order`: a liquidation order's price; `base_price`: the liquidated position's entry
#: price (Bitfinex `BASE_PRICE`).
PriceKind = Literal["avg_fill", "bankruptcy", "order", "fill", "base_price"]

CENT: Final = Decimal("0.01")
#: Upper bound on one liquidation's notional; anything above is a broken frame, not a trade.
MAX_USD: Final = Decimal("1e11")
#: Event times outside [2017-01-01, 2100-01-01) are rejected as nonsense.
MIN_TS_MS: Final = 1_483_228_800_000
MAX_TS_MS: Final = 4_102_444_800_000

FIELDS: Final = (
    "v", "id", "exchange", "product", "margin", "instrument", "symbol", "side",
    "price", "price_kind", "qty", "usd", "ts", "recv_ts", "sampled",
)  # fmt: skip


#: The words each field may hold, as sets: `__post_init__` runs once per event, and
#: `typing.get_args` on every call showed up in the collectors' profile.
SIDES: Final = frozenset(get_args(Side))
MARGINS: Final = frozenset(get_args(Margin))
PRICE_KINDS: Final = frozenset(get_args(PriceKind))


class InvalidEvent(ValueError):
    """A value that cannot be part of a valid event (the frame goes to the dead letters)."""


def to_cents(usd: Decimal) -> int:
    """USD amount -> integer cents, rounded half-even."""
    # `rounding` passed by position: the C decimal parses keyword arguments slowly.
    return int(usd.quantize(CENT, ROUND_HALF_EVEN) * 100)


#: `MAX_USD` in cents.
MAX_CENTS: Final = to_cents(MAX_USD)


def cents_to_str(cents: int) -> str:
    """Integer cents -> `"1234.50"` (exact; negative amounts keep their sign)."""
    if cents >= 100:  # most amounts: the digits with a point put in (cheaper than divmod)
        digits = str(cents)
        return f"{digits[:-2]}.{digits[-2:]}"
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def parse_decimal(text: object, name: str, *, allow_zero: bool = False) -> Decimal:
    """Parse an exchange's decimal string, refusing floats, NaN, infinities, <= 0 and junk
    (0 itself is accepted with `allow_zero`: a stream `usd` of a dust liquidation).

    Exchanges send numbers as strings; a JSON number here means a broken or hostile frame,
    and letting it through would reintroduce binary floats.
    """
    if not isinstance(text, str) or not text or len(text) > 64:
        raise InvalidEvent(f"{name}: expected a decimal string, got {text!r:.80}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidEvent(f"{name}: not a number: {text!r:.80}") from None
    return checked_decimal(value, text, name, allow_zero=allow_zero)


def checked_decimal(value: Decimal, text: str, name: str, *, allow_zero: bool = False) -> Decimal:
    """`parse_decimal`'s checks on `value` once read from `text` (its wire text; a reader
    that already holds the `Decimal` of a JSON number skips parsing it twice)."""
    if allow_zero and value.is_zero() and value.is_finite():
        return abs(value)  # "-0.00" is zero, not a sign
    if not value.is_finite() or value <= 0:
        raise InvalidEvent(f"{name}: must be a positive finite number, got {text!r:.80}")
    if not -30 <= value.adjusted() <= 15:
        raise InvalidEvent(f"{name}: magnitude out of range: {text!r:.80}")
    return value


def plain_text(value: Decimal) -> str:
    """`format(value, "f")`: the digits without an exponent. `str()` gives the same text
    whenever it has no exponent, at a third of the cost (events format two per entry)."""
    text = str(value)
    return format(value, "f") if "E" in text else text


def canon(value: Decimal | str) -> str:
    """Canonical decimal text for ids: no exponent, no trailing zeros (`"5.000"` -> `"5"`)."""
    text = plain_text(value if isinstance(value, Decimal) else Decimal(value))
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def make_event_id(
    exchange: str,
    product: str,
    instrument: str,
    side: str,
    ts: int,
    qty_venue: Decimal | str,
    price_raw: Decimal | str,
) -> str:
    """Deterministic id: the same liquidation gives the same id across restarts and replays.

    sha256 over the venue's own values (quantity and price as sent, canonicalised); the
    first 32 hex digits (docs/EVENTS.md, field `id`). Canonical text makes `"5.000"` and
    `"5"` the same liquidation.
    """
    material = "|".join(
        (exchange, product, instrument, side, str(ts), canon(qty_venue), canon(price_raw))
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def make_venue_event_id(exchange: str, *parts: str) -> str:
    """Deterministic id from the venue's own identifiers, for venues whose event time is not
    theirs (BitMEX: the collector's receive time), whose one trade is two liquidations
    (Deribit `MT`), or that name each liquidation (dYdX trade `id`, Kraken `uid`, Bitfinex
    `POS_ID`: two fills of one liquidation at the same size, price and time stay two events,
    and a re-sent copy whose other values moved stays one): sha256 over `exchange|part|…`,
    the first 32 hex digits."""
    return hashlib.sha256("|".join((exchange, *parts)).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class LiquidationEvent:
    """One liquidation, normalised. See docs/EVENTS.md for each field's meaning."""

    id: str
    exchange: str
    product: str
    margin: Margin
    instrument: str
    symbol: str
    side: Side
    price: Decimal
    price_kind: PriceKind
    qty: Decimal
    usd_cents: int
    ts: int
    recv_ts: int
    sampled: bool

    def __post_init__(self) -> None:
        if self.product not in PRODUCTS.get(self.exchange, ()):
            raise InvalidEvent(f"unknown exchange/product {self.exchange!r}/{self.product!r}")
        if self.side not in SIDES:
            raise InvalidEvent(f"side must be long or short, got {self.side!r}")
        if self.margin not in MARGINS:
            raise InvalidEvent(f"margin must be linear or inverse, got {self.margin!r}")
        if self.price_kind not in PRICE_KINDS:
            raise InvalidEvent(f"unknown price_kind {self.price_kind!r}")
        if not self.symbol or not self.instrument or not self.id:
            raise InvalidEvent("symbol, instrument and id must be non-empty")
        if len(self.symbol) > 64 or len(self.instrument) > 64:
            raise InvalidEvent("symbol/instrument longer than 64 characters")
        price, qty = self.price, self.qty
        if not price.is_finite() or price <= 0:
            raise InvalidEvent(f"price must be positive and finite, got {price}")
        if not qty.is_finite() or qty <= 0:
            raise InvalidEvent(f"qty must be positive and finite, got {qty}")
        # 0 is a real value: a dust liquidation (dYdX trades 1e-9 BTC) still counts, at $0.00.
        if not 0 <= self.usd_cents <= MAX_CENTS:
            raise InvalidEvent(f"usd out of range: {cents_to_str(self.usd_cents)}")
        if not MIN_TS_MS <= self.ts < MAX_TS_MS:
            raise InvalidEvent(f"ts out of range: {self.ts}")

    @property
    def usd(self) -> Decimal:
        return Decimal(self.usd_cents) / 100

    def to_fields(self) -> dict[str, str]:
        """The stream entry: flat string fields, in the documented order (`FIELDS`)."""
        return dict(zip(FIELDS, self.texts(), strict=True))

    def texts(self) -> list[str]:
        """The stream entry's values in `FIELDS` order: what `to_fields` pairs with the names.
        The collectors' appender sends only these (the names travel once per call), so it
        asks for them without the dict."""
        return [
            SCHEMA_VERSION,
            self.id,
            self.exchange,
            self.product,
            self.margin,
            self.instrument,
            self.symbol,
            self.side,
            plain_text(self.price),
            self.price_kind,
            plain_text(self.qty),
            cents_to_str(self.usd_cents),
            str(self.ts),
            str(self.recv_ts),
            "1" if self.sampled else "0",
        ]

    @classmethod
    def from_fields(cls, fields: dict[str, str] | dict[bytes, bytes]) -> LiquidationEvent:
        """Parse a stream entry (str or bytes keys). Raises `InvalidEvent` on anything off."""
        f = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()
        }
        if f.get("v") != SCHEMA_VERSION:
            raise InvalidEvent(f"unsupported schema version {f.get('v')!r}")
        missing = [name for name in FIELDS if name not in f]
        if missing:
            raise InvalidEvent(f"missing fields: {', '.join(missing)}")
        try:
            ts, recv_ts = int(f["ts"]), int(f["recv_ts"])
        except ValueError:
            raise InvalidEvent("ts/recv_ts must be integers") from None
        usd = parse_decimal(f["usd"], "usd", allow_zero=True)
        if usd != usd.quantize(CENT):
            raise InvalidEvent(f"usd must have at most 2 decimals: {f['usd']!r}")
        return cls(
            id=f["id"],
            exchange=f["exchange"],
            product=f["product"],
            margin=f["margin"],  # type: ignore[arg-type]  # checked in __post_init__
            instrument=f["instrument"],
            symbol=f["symbol"],
            side=f["side"],  # type: ignore[arg-type]
            price=parse_decimal(f["price"], "price"),
            price_kind=f["price_kind"],  # type: ignore[arg-type]
            qty=parse_decimal(f["qty"], "qty"),
            usd_cents=to_cents(usd),
            ts=ts,
            recv_ts=recv_ts,
            sampled=f["sampled"] == "1",
        )

    def to_json_dict(self, stream_id: str | None = None) -> dict[str, object]:
        """The API's EVENT: the stream fields with typed values, plus the stream id.

        `usd` and `price`/`qty` stay strings-as-numbers where precision matters: `usd` is a
        number with 2 decimals (exact in cents), price/qty are decimal strings.
        """
        return json_event(stream_id, self.to_fields(), self.ts, self.recv_ts)


def json_event(
    stream_id: str | None, texts: dict[str, str], ts: int, recv_ts: int
) -> dict[str, object]:
    """The API's EVENT from a stream entry's texts (FIELDS order, as `to_fields` writes them)
    and its `ts`/`recv_ts` already checked as integers: the one place that types them (the
    web frames collector-shaped entries from their text through it, without the event)."""
    out: dict[str, object] = {"stream_id": stream_id, **texts}
    out["v"] = int(SCHEMA_VERSION)
    out["usd"] = float(texts["usd"])  # 2 decimals: exact in cents
    out["ts"], out["recv_ts"], out["sampled"] = ts, recv_ts, texts["sampled"] == "1"
    return out


class _Draft:
    """A `LiquidationEvent`'s slots, filled by plain attribute stores. The frozen dataclass's
    own `__init__` sets each of its 14 fields through `object.__setattr__`, which cost more
    than the rest of building an event; a draft's stores are cheap, and its layout is the
    event's, so it can then become one (`make_event`)."""

    __slots__ = LiquidationEvent.__slots__

    def __init__(
        self, id: str, exchange: str, product: str, margin: str, instrument: str,
        symbol: str, side: str, price: Decimal, price_kind: str, qty: Decimal,
        usd_cents: int, ts: int, recv_ts: int, sampled: bool,
    ) -> None:  # fmt: skip
        self.id = id
        self.exchange = exchange
        self.product = product
        self.margin = margin
        self.instrument = instrument
        self.symbol = symbol
        self.side = side
        self.price = price
        self.price_kind = price_kind
        self.qty = qty
        self.usd_cents = usd_cents
        self.ts = ts
        self.recv_ts = recv_ts
        self.sampled = sampled


def make_event(
    id: str, exchange: str, product: str, margin: str, instrument: str,
    symbol: str, side: str, price: Decimal, price_kind: str, qty: Decimal,
    usd_cents: int, ts: int, recv_ts: int, sampled: bool,
) -> LiquidationEvent:  # fmt: skip
    """`LiquidationEvent(...)` with the same arguments (by position, in field order): the same
    event, checked by the same `__post_init__` (the same `InvalidEvent`), built a few times
    faster (`_Draft`). The collectors build every event this way."""
    draft = _Draft(
        id, exchange, product, margin, instrument, symbol, side, price, price_kind, qty,
        usd_cents, ts, recv_ts, sampled,
    )  # fmt: skip
    # A plain store: the draft is not frozen (cheaper than `object.__setattr__`'s lookup).
    draft.__class__ = LiquidationEvent  # type: ignore[assignment]
    event: LiquidationEvent = draft  # type: ignore[assignment]
    event.__post_init__()
    return event
