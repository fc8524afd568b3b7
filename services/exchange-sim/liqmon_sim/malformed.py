"""Broken frames: what a hostile or buggy exchange might send instead of a liquidation.

Each maker starts from a well-formed liquidation and breaks one thing, so the frame looks
like the real thing everywhere else (a parser cannot reject it on shape alone). A broken
frame never carries a good liquidation alongside: the ledger records it as malformed and
it counts for nothing. `oversize` stays under websockets' default 1 MiB client limit, so
it tests the parser, not the transport.
"""

from __future__ import annotations

import random
from typing import Any

from liqmon_sim import frames
from liqmon_sim.market import Liquidation

OVERSIZE_BYTES = 1_000_000
NON_ASCII = "牛来"
#: Kinds that are broken only because the contract spec is missing. A USDⓈ-M frame needs no
#: spec (USD = z × ap), and Binance really did push a non-ASCII symbol, so for USDⓈ-M such a
#: frame is a computable liquidation, not a broken one: it is never generated there by
#: chance (an explicit `malformed` control request still sends it).
NEEDS_SPEC = frozenset({"unknown_instrument", "non_ascii_symbol"})


def kinds_for(venue: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
    """The kinds that are unambiguously broken on `venue` (falls back to `kinds`): where USD
    follows from the frame alone (`SimPlugin.spec_free`), not the spec-less ones."""
    from liqmon_sim.venues.plugin import by_venue  # plug-ins import this module

    if venue not in by_venue()[venue].spec_free:
        return kinds
    return tuple(k for k in kinds if k not in NEEDS_SPEC) or kinds


#: A wrong-type mutation: `target[key] = value`.
_Mutation = tuple[dict[str, Any], str, Any]


def _break_common(
    rng: random.Random,
    kind: str,
    push: dict[str, Any],
    label: str,
    wrong_types: list[_Mutation],
    liq_fields: tuple[dict[str, Any], str, str, list[str]],
) -> tuple[bytes, str]:
    """The kinds every venue breaks the same way, for a push carrying one liquidation:
    `invalid_json` truncates the text, `wrong_type` applies one of `wrong_types`, and the
    field-level kinds change one field of the liquidation `liq_fields` =
    (its object, the quantity key, the price key, the keys it cannot do without).

    Only breaks no sane parser forgives: a missing field has no fallback elsewhere in the
    frame, and `huge` hits the quantity (a huge price does not move an inverse contract's
    USD value)."""
    if kind == "invalid_json":
        text = frames.dumps(push)
        return text[: rng.randint(5, len(text) - 2)], label
    if kind == "wrong_type":
        target, key, value = wrong_types[rng.randrange(len(wrong_types))]
        target[key] = value
        return frames.dumps(push), label
    fields, qty, price, required = liq_fields
    if kind == "missing_field":
        fields.pop(rng.choice(required), None)
    elif kind == "negative":
        key = rng.choice([qty, price])
        fields[key] = "-" + str(fields[key])
    elif kind == "zero":
        fields[rng.choice([qty, price])] = "0"
    elif kind == "nan":
        key = rng.choice([qty, price])  # drawn before the value: seeded runs stay the same
        fields[key] = rng.choice(["NaN", "nan", "Infinity", "-inf"])
    elif kind == "huge":
        fields[qty] = rng.choice(["1e308", "9" * 40, "1E+30"])
    else:
        raise ValueError(f"unknown malformed kind {kind!r}")
    return frames.dumps(push), label


def binance(rng: random.Random, liq: Liquidation, kind: str, push_ms: int) -> tuple[bytes, str]:
    """A broken forceOrder event (raw form; the venue wraps it for combined streams)."""
    event = frames.binance_event(liq, push_ms)
    order: dict[str, Any] = event["o"]
    if kind == "oversize":
        order["s"] = "X" * OVERSIZE_BYTES
        return frames.dumps(event), "X" * 16
    if kind == "non_ascii_symbol":
        order["s"] = f"{NON_ASCII}{liq.inst.quote}"
        return frames.dumps(event), order["s"]
    if kind == "unknown_instrument":
        order["s"] = f"ZZ{rng.randrange(10**6)}{liq.inst.quote}"
        return frames.dumps(event), order["s"]
    wrong_types: list[_Mutation] = [
        (order, "z", float(liq.qty)), (order, "T", "soon"), (order, "ap", None),
        (event, "o", "forceOrder"),
    ]  # fmt: skip
    liq_fields = (order, "z", "ap", ["z", "ap", "S", "s"])
    return _break_common(rng, kind, event, liq.inst.inst_id, wrong_types, liq_fields)


def okx(rng: random.Random, liq: Liquidation, kind: str) -> tuple[bytes, str]:
    """A broken liquidation-orders push with a single (broken) detail."""
    detail: dict[str, Any] = frames.okx_detail(liq)
    entry: dict[str, Any] = frames.okx_entry(liq.inst, [detail])
    push = {"arg": {"channel": frames.OKX_CHANNEL, "instType": liq.inst.inst_type}, "data": [entry]}
    label = liq.inst.inst_id
    if kind in ("oversize", "non_ascii_symbol", "unknown_instrument"):
        if kind == "oversize":
            entry["instId"] = "X" * OVERSIZE_BYTES
            label = "X" * 16
        elif kind == "non_ascii_symbol":
            entry["instId"] = label = f"{NON_ASCII}-USDT-SWAP"
        else:
            entry["instId"] = label = f"ZZ{rng.randrange(10**6)}-USDT-SWAP"
        return frames.dumps(push), label
    if kind == "missing_field" and rng.random() < 0.3:
        del entry["instId"]
        return frames.dumps(push), label
    wrong_types: list[_Mutation] = [
        (detail, "sz", float(liq.qty)), (detail, "ts", None), (entry, "details", detail),
        (push, "data", "liquidation"),
    ]  # fmt: skip
    liq_fields = (detail, "sz", "bkPx", ["sz", "bkPx", "ts"])
    return _break_common(rng, kind, push, label, wrong_types, liq_fields)


def bybit(rng: random.Random, liq: Liquidation, kind: str, push_ms: int) -> tuple[bytes, str]:
    """A broken allLiquidation push with a single (broken) element."""
    entry: dict[str, Any] = frames.bybit_entry(liq)
    push: dict[str, Any] = {
        "topic": frames.BYBIT_TOPIC_PREFIX + liq.inst.inst_id, "type": "snapshot",
        "ts": push_ms, "data": [entry],
    }  # fmt: skip
    if kind == "oversize":
        entry["s"] = "X" * OVERSIZE_BYTES
        return frames.dumps(push), "X" * 16
    if kind in NEEDS_SPEC:  # sent only on request: a Bybit parser values it without a spec
        entry["s"] = label = (
            f"{NON_ASCII}USDT" if kind == "non_ascii_symbol" else f"ZZ{rng.randrange(10**6)}USDT"
        )
        return frames.dumps(push), label
    wrong_types: list[_Mutation] = [
        (entry, "v", float(liq.qty)), (entry, "T", "soon"), (entry, "p", None),
        (push, "data", "liquidation"),
    ]  # fmt: skip
    liq_fields = (entry, "v", "p", ["v", "p", "S", "s", "T"])
    return _break_common(rng, kind, push, liq.inst.inst_id, wrong_types, liq_fields)
