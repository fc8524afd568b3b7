"""The aggregator's quick entry check against the full one: for any fields, well formed or
not, `prepare_fields` and `prepare_entry` (the same entry as Redis sends it) accept exactly
what `prepare(LiquidationEvent.from_fields(...))` accepts, with the same values, and refuse
the rest with the same error."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from liqmon.event import LiquidationEvent
from liqmon_aggregator.apply import Prepared, prepare, prepare_fields
from liqmon_aggregator.prepared import _quick, prepare_entry
from tests.aggregator.factory import make_event

T0 = 1_791_565_602_120

#: Values that sit on either side of some check of the schema or of the windows.
TRICKY = {
    "v": ["1", "2", "", " 1"],
    "id": ["a" * 32, "A" * 32, "g" * 32, "x", "", "é", "i" * 200, "t:" + "a" * 14],
    "exchange": ["binance", "okx", "nope", "", "BINANCE"],
    "product": ["binance-usdm", "okx-swap", "bybit-linear", "x"],
    "margin": ["linear", "inverse", "Linear", ""],
    "instrument": ["BTC-USDT", "", "I" * 64, "I" * 65],
    "symbol": ["BTC", "", "S" * 64, "S" * 65, "é"],
    "side": ["long", "short", "LONG", ""],
    "price": ["95000.5", "0", "-1", "1e3", "1E-31", "NaN", "Infinity", "0.000001",
              "1" * 16, "1" * 17, " 5", "5.", ".5", "٥", "0x10", "9" * 70, "1_0", "0.0",
              "0." + "0" * 17 + "1", "0." + "0" * 18 + "1", "007.50", "1." + "9" * 18],
    "price_kind": ["avg_fill", "bankruptcy", "order", "fill", "base_price", "other"],
    "qty": ["1", "0", "-0", "1.5", "1e-5", "1e16", "NaN", "", "0.0", "1" * 16, "٣"],
    "usd": ["1000.00", "0.00", "-0.00", "0.001", "1.5", "12", "1e2", "100000000000.00",
            "100000000000.01", "99999999999.99", "1234567890123.00", "٣.00", " 1.00",
            "0100.00", "1.005", "NaN", "", "1" * 70],
    "ts": [str(T0), "0", "1483228799999", "1483228800000", "4102444799999", "4102444800000",
           "x", " 12", "1_791_565_602_120", "+1791565602120", "1.5"],
    "recv_ts": [str(T0), "x", "", "-5"],
    "sampled": ["1", "0", "", "yes"],
}  # fmt: skip


def outcome(fn: Any, sid: str, fields: Any) -> tuple[str, Any]:
    try:
        p: Prepared = fn(sid, fields)
    except ValueError as exc:  # InvalidEvent is one
        return type(exc).__name__, str(exc)
    values = (p.stream_id, p.id, p.exchange, p.instrument, p.symbol, p.side, p.ts)
    more = (p.usd_cents, p.sampled, p.weight, p.id_key, p.event, p.member_json())
    return "ok", (*values, *more)


def full(sid: str, fields: Any) -> Prepared:
    return prepare(sid, LiquidationEvent.from_fields(fields))


@st.composite
def entries(draw: st.DrawFn) -> dict[Any, Any]:
    fields: dict[Any, Any] = dict(make_event(1, T0, sampled=True).to_fields())
    for name in draw(st.lists(st.sampled_from(sorted(TRICKY)), max_size=4)):
        fields[name] = draw(st.sampled_from(TRICKY[name]) | st.text(max_size=20))
    if draw(st.integers(0, 9)) == 0:
        fields.pop(draw(st.sampled_from(sorted(fields))))
    if draw(st.integers(0, 9)) == 0:
        fields = {k.encode(): v.encode() for k, v in fields.items()}
    return fields


@settings(max_examples=400, deadline=None)
@given(entries())
def test_quick_check_agrees_with_the_full_one(fields: dict[Any, Any]) -> None:
    want = outcome(full, "1-0", fields)
    assert outcome(prepare_fields, "1-0", fields) == want
    assert outcome(prepare_entry, "1-0", [x for pair in fields.items() for x in pair]) == want


def test_the_collectors_shape_takes_the_quick_path() -> None:
    """The equivalence above would hold trivially if nothing took the quick path."""
    fields = make_event(1, T0, cents=0, sampled=True).to_fields()
    assert _quick("1-0", list(fields.values())) is not None
    odd = {**fields, "usd": "1e2"}
    assert _quick("1-0", list(odd.values())) is None  # valid, but the full path's
    assert outcome(prepare_fields, "1-0", odd) == outcome(full, "1-0", odd)
    assert outcome(full, "1-0", odd)[0] == "ok"
