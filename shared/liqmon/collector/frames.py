"""What a venue's frame parser returns, and the strict helpers every parser uses.

A parser turns one WebSocket text frame into a `FrameResult`. It never raises for a bad
frame; it reports. One frame may carry several liquidations (OKX `data[]`/`details[]`,
Binance arrays) and one bad part must not lose the good ones, so the result holds:
- `events`: valid normalised events;
- `bad`: parts that can never become an event (dead-lettered with their own raw text);
- `held`: parts that need an instrument spec the collector does not have yet (COIN-M
  `contractSize`, OKX `ctVal`); the runtime refreshes the spec and calls `resolve()` again
  instead of dropping or guessing;
- `control`: a recognised non-event frame (`"pong"`, `"ack"`, …), `error`: a venue error
  message, `reconnect`: the venue asked us to move to a new connection (OKX notice 64008),
  `reply`: a frame the venue expects back at once on the same connection (HTX pings the
  client and drops it unless each ping's `ts` is echoed in a pong).

What a liquidation is worth and the event built from it: `liqmon.collector.valuation`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any, Protocol, TypeVar

import orjson

from liqmon.event import InvalidEvent, LiquidationEvent, parse_decimal

S_co = TypeVar("S_co", covariant=True)


class SpecSource(Protocol[S_co]):
    """Where a parser looks up instrument specs: a `SpecCache`, or a plain dict in tests.
    `len()` is 0 until specs were loaded once."""

    def get(self, key: str, /) -> S_co | None: ...

    def __len__(self) -> int: ...


class MalformedFrame(ValueError):
    """A frame (or part of one) that cannot be turned into an event. `str()` is the reason."""


class SpecMissing(LookupError):
    """The instrument spec needed to value this liquidation is not (yet) known."""

    def __init__(self, instrument: str) -> None:
        super().__init__(f"no contract spec for {instrument!r}")
        self.instrument = instrument


@dataclass(slots=True)
class BadPart:
    reason: str
    raw: str
    context: str = ""


@dataclass(slots=True)
class Held:
    """A liquidation waiting for its instrument spec. `resolve()` raises `SpecMissing` until
    the spec is known, `MalformedFrame` if the spec shows the part is invalid."""

    instrument: str
    raw: str
    context: str
    resolve: Callable[[], LiquidationEvent]
    since_ms: int = 0
    attempts: int = 0
    #: (spec cache, its version when held), set by the hold queue: the part only expires once
    #: each cache has loaded successfully since, so an unreachable REST API never expires it.
    caches: tuple[Any, ...] = ()


@dataclass(slots=True)
class FrameResult:
    events: list[LiquidationEvent] = field(default_factory=list)
    bad: list[BadPart] = field(default_factory=list)
    held: list[Held] = field(default_factory=list)
    control: str | None = None
    error: str | None = None
    reconnect: bool = False
    reply: str | None = None


class FrameParser(Protocol):
    """One venue feed's parser. Must not raise for any input text."""

    def parse_frame(self, raw: str, recv_ts: int) -> FrameResult: ...


def parse(parser: FrameParser, raw: str, recv_ts: int) -> list[LiquidationEvent]:
    """Strict form for tests and tools: the events, or `MalformedFrame`/`SpecMissing`."""
    result = parser.parse_frame(raw, recv_ts)
    if result.bad:
        raise MalformedFrame("; ".join(part.reason for part in result.bad))
    if result.held:
        raise SpecMissing(result.held[0].instrument)
    return result.events


def attempt(
    result: FrameResult,
    raw_part: Callable[[], str],
    context: str,
    build: Callable[[], LiquidationEvent],
    recv_ts: int,
) -> None:
    """Run `build()` for one part of a frame and file its outcome into `result`.

    `build` returns the event (kept), raises `SpecMissing` (the part is held with `build` as
    its `resolve`, to be retried once the spec arrives) or `MalformedFrame`/`InvalidEvent` (a
    bad part: dead-lettered with its own raw text).
    """
    try:
        result.events.append(build())
    except (SpecMissing, MalformedFrame, InvalidEvent) as exc:
        _file_failure(result, exc, raw_part(), context, build, recv_ts)


def _file_failure(
    result: FrameResult,
    exc: SpecMissing | MalformedFrame | InvalidEvent,
    raw: str,
    context: str,
    retry: Callable[[], LiquidationEvent],
    recv_ts: int,
) -> None:
    if isinstance(exc, SpecMissing):
        result.held.append(Held(exc.instrument, raw, context, retry, since_ms=recv_ts))
    else:
        result.bad.append(BadPart(str(exc) or type(exc).__name__, raw, context))


def _decimal_json(value: object) -> orjson.Fragment:
    """A `Decimal` read by `exactjson.load_exact` goes back out as the number it was."""
    if isinstance(value, Decimal) and value.is_finite():
        return orjson.Fragment(str(value))
    raise TypeError(type(value).__name__)


def load_json(raw: str | bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedFrame(f"invalid JSON: {exc}") from None


def dump_part(obj: object) -> str:
    try:
        return orjson.dumps(obj, default=_decimal_json).decode()
    except TypeError:
        return repr(obj)[:16_384]


def require(obj: object, name: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise MalformedFrame(f"{name}: expected an object, got {type(obj).__name__}")
    return obj


def open_frame(
    raw: str, result: FrameResult, context: str, load: Callable[[str], Any] = load_json
) -> dict[str, Any] | None:
    """The frame as a JSON object (read by `load`), or None once `result` has it as a bad
    part (not JSON, or not an object), dead-lettered whole under `context`."""
    try:
        return require(load(raw), "frame")
    except MalformedFrame as exc:
        result.bad.append(BadPart(str(exc), raw, context))
        return None


def attempt_each(
    result: FrameResult,
    whole: str | None,
    parts: list[Any],
    context: str,
    build: Callable[[Any, int], LiquidationEvent],
    recv_ts: int,
    part_text: Callable[[Any], str],
) -> None:
    """`attempt` `build(part, recv_ts)` for every part of a frame, as `f"{context}[{i}]"`.

    A part that fails is dead-lettered with `whole` (the frame's text) when it is the
    frame's only part and `whole` is given, else with `part_text(part)`: only built then.
    """
    events = result.events
    for i, part in enumerate(parts):
        # `attempt`, inlined: the context text, the part's raw text and the retry closure
        # are built only for a part that fails (most parts of a crash succeed).
        try:
            events.append(build(part, recv_ts))
        except (SpecMissing, MalformedFrame, InvalidEvent) as exc:
            raw = whole if whole is not None and len(parts) == 1 else part_text(part)
            retry = partial(build, part, recv_ts)
            _file_failure(result, exc, raw, f"{context}[{i}]", retry, recv_ts)


def text_field(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedFrame(f"{name}: expected a non-empty string, got {value!r:.60}")
    return value


def instrument_field(obj: dict[str, Any], name: str) -> str:
    """The venue's instrument name: untrusted text, refused only if empty or over 64 chars
    (what `LiquidationEvent` refuses), checked before any spec lookup or hold."""
    value = text_field(obj, name)
    if len(value) > 64:
        raise MalformedFrame(f"{name}: instrument name longer than 64 characters ({len(value)})")
    return value


def side_field(obj: dict[str, Any], name: str, sides: Mapping[str, str], label: str = "") -> str:
    """The liquidated position's side from a venue's side word (`sides` maps each word the
    venue uses to "long"/"short"; the message lists them in the mapping's order)."""
    value = obj.get(name)
    side = sides.get(value) if isinstance(value, str) else None
    if side is None:
        expected = " or ".join(sides)
        raise MalformedFrame(f"{label or name}: expected {expected}, got {value!r:.40}")
    return side


def ms_field(obj: dict[str, Any], name: str) -> int:
    """Milliseconds as a JSON integer (Binance) or a digit string (OKX)."""
    value = obj.get(name)
    if isinstance(value, bool):
        raise MalformedFrame(f"{name}: expected milliseconds, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        return int(value)
    raise MalformedFrame(f"{name}: expected milliseconds, got {value!r:.60}")


@dataclass(frozen=True, slots=True)
class FlatRecord:
    """Where one venue's flat liquidation record keeps the five facts every event needs
    (instrument, side word, size, price, ms time), read in one order so the first bad field
    is the one reported. `number` reads an amount (`parse_decimal` for decimal strings,
    `exactjson.positive_number` for JSON numbers); `label` prefixes the side and amount
    names in error messages (Binance: `o.` for its order object)."""

    instrument: str
    side: str
    sides: Mapping[str, str]
    size: str
    price: str
    ts: str
    number: Callable[[Any, str], Decimal] = parse_decimal
    label: str = ""

    def read(self, record: dict[str, Any]) -> tuple[str, str, Decimal, Decimal, int]:
        label = self.label
        instrument, word, ts = (
            record.get(self.instrument),
            record.get(self.side),
            record.get(self.ts),
        )
        if (
            type(instrument) is str
            and 0 < len(instrument) <= 64
            and type(word) is str
            and type(ts) is int
            and word in self.sides
        ):
            # The usual record, its three plain fields checked here as the helpers below
            # check them (one call per field cost more than its check; crash events come
            # through here). Anything else takes the helpers, for the same error in the same
            # order: the amounts are read in that order either way.
            return (
                instrument,
                self.sides[word],
                self.number(record.get(self.size), label + self.size),
                self.number(record.get(self.price), label + self.price),
                ts,
            )
        return (
            instrument_field(record, self.instrument),
            side_field(record, self.side, self.sides, label and label + self.side),
            self.number(record.get(self.size), label + self.size),
            self.number(record.get(self.price), label + self.price),
            ms_field(record, self.ts),
        )
