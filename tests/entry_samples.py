"""Stream entries for property tests of the quick entry checks (`liqmon.entry_shape` and
its users): valid events of every shape, and collector-shaped entries with a few values
changed to something on either side of some check."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, get_args

from hypothesis import strategies as st

from liqmon.event import PRODUCTS, LiquidationEvent, PriceKind

T0 = 1_791_565_602_120

#: Values that sit on either side of some check of the schema, or of the quick shape.
TRICKY: dict[str, list[str]] = {
    "v": ["1", "2", "", " 1", "01"],
    "id": ["a" * 32, "x", "", "é", "i" * 200, 'q"\\', "\n"],
    "exchange": ["binance", "okx", "nope", "", "BINANCE"],
    "product": ["binance-usdm", "okx-swap", "bybit-linear", "x"],
    "margin": ["linear", "inverse", "Linear", ""],
    "instrument": ["BTC-USDT", "", "I" * 64, "I" * 65, 'a"b'],
    "symbol": ["BTC", "", "S" * 64, "S" * 65, "é", "btc", "\u2028"],
    "side": ["long", "short", "LONG", ""],
    "price": ["95000.5", "0", "-1", "1e3", "1E-31", "NaN", "Infinity", "0.000001", "1" * 16,
              "1" * 17, " 5", "5.", ".5", "٥", "0x10", "9" * 70, "1_0", "0.0", "007.50",
              "0." + "0" * 28 + "1", "0." + "0" * 29 + "1", "0." + "0" * 30 + "1", "1.50",
              "1." + "9" * 29, "1." + "9" * 30, "+5", "0.10", "100", "10.000"],
    "price_kind": ["avg_fill", "bankruptcy", "order", "fill", "base_price", "other"],
    "qty": ["1", "0", "-0", "1.5", "1e-5", "1e16", "NaN", "", "0.0", "1" * 16, "٣", "01",
            "0.000000001", "0.00", "2.50", "1" * 15 + ".5"],
    "usd": ["1000.00", "0.00", "-0.00", "0.001", "1.5", "12", "1e2", "100000000000.00",
            "100000000000.01", "99999999999.99", "1234567890123.00", "٣.00", " 1.00",
            "0100.00", "1.005", "NaN", "", "1" * 70, "0.10", "0.01"],
    "ts": [str(T0), "0", "1483228799999", "1483228800000", "4102444799999", "4102444800000",
           "x", " 12", "1_791_565_602_120", "+1791565602120", "1.5", "0" + str(T0)],
    "recv_ts": [str(T0), "x", "", "-5", str(2**63 - 1), str(2**63), str(-(2**63)),
                str(-(2**63) - 1), str(2**64), "1" * 30],
    "sampled": ["1", "0", "", "yes"],
}  # fmt: skip

#: Decimals as venues send them: mostly a few places, sometimes any spelling at all.
_decimals = (
    st.integers(0, 18).flatmap(
        lambda places: st.decimals(
            min_value=Decimal("1e-12"), max_value=Decimal("1e12"), places=places
        )
    )
    | st.decimals(min_value=Decimal("1e-12"), max_value=Decimal("1e12"), places=None)
).filter(lambda d: d > 0 and -30 <= d.adjusted() <= 15)
_names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=64)


@st.composite
def valid_events(draw: st.DrawFn) -> LiquidationEvent:
    """Any valid event: every exchange and product, any names, prices and sizes."""
    exchange = draw(st.sampled_from(sorted(PRODUCTS)))
    return LiquidationEvent(
        id=draw(_names),
        exchange=exchange,
        product=draw(st.sampled_from(PRODUCTS[exchange])),
        margin=draw(st.sampled_from(["linear", "inverse"])),
        instrument=draw(_names),
        symbol=draw(_names),
        side=draw(st.sampled_from(["long", "short"])),
        price=draw(_decimals),
        price_kind=draw(st.sampled_from(get_args(PriceKind))),
        qty=draw(_decimals),
        usd_cents=draw(st.integers(0, 10**13)),
        ts=draw(st.integers(1_483_228_800_000, 4_102_444_799_999)),
        recv_ts=draw(st.integers(-(2**63), 2**63 - 1)),
        sampled=draw(st.booleans()),
    )


@st.composite
def entry_fields(draw: st.DrawFn, base: dict[str, str]) -> dict[Any, Any]:
    """`base` (a stream entry's fields) with up to 4 values changed to tricky or arbitrary
    text, sometimes one field missing, sometimes all as bytes."""
    fields: dict[Any, Any] = dict(base)
    for name in draw(st.lists(st.sampled_from(sorted(TRICKY)), max_size=4)):
        fields[name] = draw(st.sampled_from(TRICKY[name]) | st.text(max_size=20))
    if draw(st.integers(0, 9)) == 0:
        fields.pop(draw(st.sampled_from(sorted(fields))))
    if draw(st.integers(0, 19)) == 0:
        fields = {k.encode(): v.encode() for k, v in fields.items()}
    return fields


def collector_entry(n: int = 1, cents: int = 123_456) -> dict[str, str]:
    """A stream entry as a collector writes it."""
    return LiquidationEvent(
        id=f"{n:032x}", exchange="okx", product="okx-swap", margin="linear",
        instrument="BTC-USDT-SWAP", symbol="BTC", side="short", price=Decimal("95000.5"),
        price_kind="bankruptcy", qty=Decimal("0.013"), usd_cents=cents, ts=T0 + n,
        recv_ts=T0 + n + 7, sampled=False,
    ).to_fields()  # fmt: skip


def odd_collector_entries() -> st.SearchStrategy[dict[Any, Any]]:
    """Collector entries (any amount up to the schema's cap) with some fields made odd."""
    return st.integers(0, 10**13).flatmap(lambda c: entry_fields(collector_entry(cents=c)))
