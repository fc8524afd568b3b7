"""Fold a batch into the plan apply.lua verifies and stores (the CPU half of applying).

Every event gets a verdict from what the previous apply.lua call reported (Redis's clock,
the watermarks, which ids are already applied): applied (A), duplicate (D), too late (T)
or future (F). The applied ones are summed into per-key deltas: one set per bucket (its
totals hash and its coin records) and one per group of windows that include the same
buckets (all six windows, for live traffic). apply.lua then checks every verdict against
Redis and only adds the deltas, so Redis's work grows with the fields a batch touches, not
with its events. If a verdict no longer holds, apply.lua says what changed and the batch is
folded again (`Verdicts.update`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import orjson

from liqmon.event import MAX_TS_MS
from liqmon.windows import (
    BUCKET_MS,
    CAP,
    LARGEST_CENTS,
    LARGEST_ID,
    LAYOUT_VERSION,
    WINDOW_SPEC,
    WINDOWS,
    coin_fields,
    total_fields,
    weight_limbs,
)

from .layout import Layout
from .prepared import Prepared

#: Verdicts, one letter per event, as apply.lua's plan and the counters name them.
APPLIED, DUPLICATE, TOO_LATE, FUTURE = "A", "D", "T", "F"
HOUR_MS = 3_600_000
#: Every value of a coin record stays at most this, so Lua (doubles) reads it exactly and
#: evict.lua can add two of them exactly.
RECORD_MAX = 1 << 52


@dataclass
class Verdicts:
    """What apply.lua last reported: Redis's clock, the watermarks, applied ids."""

    now_ms: int | None = None
    watermarks: list[int] = field(default_factory=list)
    applied: set[tuple[int, bytes]] = field(default_factory=set)

    def update(self, now_ms: int, watermarks: str) -> None:
        self.now_ms = now_ms
        self.watermarks = [int(w) for w in watermarks.split(",")]


@dataclass
class _Bucket:
    n: int
    late: bool
    hi: int = -1
    lo: int = -1
    ids: list[bytes] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    applied: list[Prepared] = field(default_factory=list)


#: (side, exchange) -> (cents, count, exchange cents, exchange count) field names.
_TOTAL_NAMES: dict[tuple[str, str], tuple[str, ...]] = {}


def _total_names(side: str, exchange: str) -> tuple[str, ...]:
    names = _TOTAL_NAMES.get((side, exchange))
    if names is None:
        names = _TOTAL_NAMES[(side, exchange)] = (
            *total_fields(side),
            *total_fields(side, exchange),
        )
    return names


@dataclass
class _Sums:
    """Deltas: the totals fields, and per (coin, side) [cents, count, *price limbs]."""

    totals: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    coins: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Sequence[Prepared]) -> _Sums:
        """One dict update per event: sums per (coin, side, exchange) first, then the
        fields those feed; each coin's summed price weight is split into limbs once."""
        rows: dict[tuple[str, str, str], list[int]] = {}
        for ev in events:
            key = (ev.symbol, ev.side, ev.exchange)
            row = rows.get(key)
            if row is None:
                rows[key] = [ev.usd_cents, 1, ev.weight]
            else:
                row[0] += ev.usd_cents
                row[1] += 1
                row[2] += ev.weight
        out = cls()
        t = out.totals
        coins: dict[tuple[str, str], list[int]] = {}
        for (symbol, side, exchange), (cents, count, weight) in rows.items():
            names = _total_names(side, exchange)
            t[names[0]] += cents
            t[names[1]] += count
            t[names[2]] += cents
            t[names[3]] += count
            coin = coins.get((symbol, side))
            if coin is None:
                coins[(symbol, side)] = [cents, count, weight]
            else:
                coin[0] += cents
                coin[1] += count
                coin[2] += weight
        for coin_side, (cents, count, weight) in coins.items():
            out.coins[coin_side] = [cents, count, *weight_limbs(weight)]
        return out

    def merge(self, other: _Sums) -> None:
        for name, v in other.totals.items():
            self.totals[name] += v
        for key, src in other.coins.items():
            row = self.coins.get(key)
            if row is None:
                self.coins[key] = list(src)
            else:
                for i, v in enumerate(src):
                    row[i] += v


def _largest(ev: Prepared) -> tuple[int, str]:
    """How apply.lua ranks a bucket's largest event: cents, then id (byte order)."""
    return ev.usd_cents, ev.id


#: Below every event's `_largest` (cents are never negative).
_NO_LARGEST = (-1, "")


def _pairs(values: dict[str, int]) -> list[str]:
    out: list[str] = []
    for name, v in values.items():
        if v:
            out += (name, str(v))
    return out


#: (symbol, side) -> its coin hash field names (`coin_fields`), remembered like
#: _TOTAL_NAMES; started over past _COIN_NAMES_MAX coins.
_COIN_NAMES: dict[tuple[str, str], tuple[str, ...]] = {}
_COIN_NAMES_MAX = 20_000


def _coin_names(symbol: str, side: str) -> tuple[str, ...]:
    names = _COIN_NAMES.get((symbol, side))
    if names is None:
        if len(_COIN_NAMES) >= _COIN_NAMES_MAX:
            _COIN_NAMES.clear()
        names = _COIN_NAMES[(symbol, side)] = coin_fields(symbol, side)
    return names


def _coin_pairs(coins: dict[tuple[str, str], list[int]]) -> tuple[list[str], list[str], list[str]]:
    fields: list[str] = []
    ranks: dict[str, list[str]] = {"L": [], "S": []}
    for (sym, side), row in coins.items():
        for name, v in zip(_coin_names(sym, side), row, strict=True):
            if v:
                fields += (name, str(v))
        if row[0]:  # $0.00 (dust) changes no total: it must not rank a coin at zero
            ranks[side] += (sym, str(row[0]))
    return fields, ranks["L"], ranks["S"]


def _records(coins: dict[tuple[str, str], list[int]]) -> bytes:
    """msgpack records [symbol, side, cents, count, limbs...] (trailing zero limbs left out);
    a row split over several records (they add up) while a value passes RECORD_MAX: cents
    past $45T, or the last limb of a batch's summed weight (below events << LIMB_BITS)."""
    out = bytearray()
    for (sym, side), row in coins.items():
        rest = list(row)
        while True:
            part = [min(v, RECORD_MAX) for v in rest]
            rest = [v - p for v, p in zip(rest, part, strict=True)]
            while len(part) > 2 and part[-1] == 0:
                part.pop()
            out += msgpack.packb([sym, side, *part])
            if not any(rest):
                break
    return bytes(out)


@dataclass
class Plan:
    """The plan (apply.lua's ARGV[1]) and what goes with it."""

    keys: list[str]
    argv: list[str | bytes]
    verdicts: str
    counted_series: list[tuple[int, str, str]]
    #: per plan bucket, the ids apply.lua checks (its RETRY reply says which it holds)
    checked: list[tuple[int, list[bytes]]]
    layout_gen: int
    #: per bucket, the (cents, id) of the largest event the plan offers apply.lua
    offered_largest: dict[int, tuple[int, str]]


def fold(
    batch: Sequence[Prepared],
    layout: Layout,
    known: Verdicts,
    *,
    group: str,
    check_generation: bool,
    clock_ms: int | None,
    max_future_ms: int,
    retention_ms: int,
    late_series: bool,
    expired: set[tuple[int, str, str]],
    stored_largest: dict[int, tuple[int, str]],
) -> Plan:
    """`stored_largest`: per bucket, a (cents, id) its largest-event record is known to
    have reached (an earlier plan of ours offered it; the record only grows while the
    bucket takes events). A batch's best event that does not beat it cannot become the
    record, so it is not offered and its JSON is not built: the largest event of a busy
    bucket changes seldom, and building the JSON is the costliest step of an event."""
    wm = known.watermarks
    now = clock_ms if clock_ms is not None else known.now_ms
    limit = now + max_future_ms if now is not None else None
    oldest = wm[-1] if wm else None
    keys = layout.fixed_keys()
    argv: list[str | bytes] = [""]
    buckets: dict[int, _Bucket] = {}
    first: dict[str, str] = {}
    verdicts: list[str] = []
    acks: list[str] = []
    late_events: list[Prepared] = []
    applied_before = known.applied
    # a valid event's ts is below MAX_TS_MS: with no clock yet, nothing is in the future
    horizon = limit if limit is not None else MAX_TS_MS
    for ev in batch:
        event_id = ev.id
        seen = first.get(event_id)
        if seen is not None:
            verdict = DUPLICATE if seen in (APPLIED, DUPLICATE) else seen
        else:
            ts = ev.ts
            n = ts // BUCKET_MS
            bucket = buckets.get(n)
            if bucket is None:
                bucket = buckets[n] = _Bucket(n, oldest is not None and n <= oldest)
            if ts > horizon:
                verdict = FUTURE
                if bucket.lo < 0 or ts < bucket.lo:
                    bucket.lo = ts
            else:
                if ts > bucket.hi:
                    bucket.hi = ts
                if bucket.late:
                    verdict = TOO_LATE
                    late_events.append(ev)
                else:
                    key = ev.id_key
                    verdict = APPLIED
                    if applied_before and (n, key) in applied_before:
                        verdict = DUPLICATE
                    bucket.ids.append(key)
                    bucket.planned.append(verdict)
                    if verdict == APPLIED:
                        bucket.applied.append(ev)
            first[event_id] = verdict
        verdicts.append(verdict)
        if verdict != FUTURE:
            acks.append(ev.stream_id)
    verdict_text = "".join(verdicts)
    counts = {v: verdict_text.count(v) for v in (APPLIED, DUPLICATE, TOO_LATE, FUTURE)}

    # per bucket: ids to check, its totals and coin records, caps, largest
    plan_buckets: list[dict[str, Any]] = []
    sums: dict[int, _Sums] = {}
    offered: dict[int, tuple[int, str]] = {}
    for n, bucket in buckets.items():
        entry: dict[str, Any] = {
            "n": n, "k": 0, "late": int(bucket.late), "hi": bucket.hi, "lo": bucket.lo,
            "i": 0, "c": 0, "p": "", "s": [], "t": [], "r": 0, "x": [],
        }  # fmt: skip
        if bucket.ids:
            entry["k"] = len(keys) + 1
            keys += layout.bucket_keys(n)
            entry["i"], entry["c"] = len(argv) + 1, len(bucket.ids)
            entry["p"] = "".join(bucket.planned)
            argv += bucket.ids
        if bucket.applied:
            s = sums[n] = _Sums.of(bucket.applied)
            slots = {
                f"{ev.exchange}|{ev.instrument}|{ev.ts // 1000}"
                for ev in bucket.applied
                if ev.sampled
            }
            best = max(bucket.applied, key=_largest)
            entry["t"] = _pairs(s.totals)
            entry["s"] = sorted(slots)
            entry["r"] = len(argv) + 1
            argv.append(_records(s.coins))
            if _largest(best) > stored_largest.get(n, _NO_LARGEST):
                entry["x"] = [str(best.usd_cents), best.id, best.member_json()]
                offered[n] = _largest(best)
        plan_buckets.append(entry)

    # windows that include the same applied buckets share one set of deltas
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    if wm:
        for w in range(len(WINDOWS)):
            groups[tuple(n for n in sums if n > wm[w])].append(w + 1)
    plan_groups = []
    for included, windows in groups.items():
        if not included:
            continue
        merged = _Sums()
        for n in included:
            merged.merge(sums[n])
        coins, rank_l, rank_s = _coin_pairs(merged.coins)
        plan_groups.append(
            {"i": windows, "t": _pairs(merged.totals), "c": coins, "l": rank_l, "s": rank_s}
        )

    # per-minute series: all, ex:<exchange>, c:<sym>, cx:<sym>:<exchange>; each hash is
    # one KEYS entry however many coins share it, so each (hash, minute) is one HINCRBY
    key_at: dict[str, int] = {}
    slots_of: dict[tuple[int, str, str], tuple[int, ...]] = {}
    series: defaultdict[tuple[int, str], int] = defaultdict(int)
    expire: dict[int, int] = {}
    counted: list[tuple[int, str, str]] = []

    def series_slots(ts: int, exchange: str, symbol: str, counts_expiry: bool) -> tuple[int, ...]:
        skey = (ts // HOUR_MS, exchange, symbol)
        slots = slots_of.get(skey)
        if slots is None:
            found = []
            for name in layout.series_keys(*skey):
                at = key_at.get(name)
                if at is None:
                    keys.append(name)
                    at = key_at[name] = len(keys)
                found.append(at)
            slots = slots_of[skey] = tuple(found)
            if counts_expiry and skey not in expired:
                for at in slots:
                    expire[at] = (skey[0] + 1) * HOUR_MS + retention_ms
                counted.append(skey)
        return slots

    # summed per minute, exchange, coin and side first: one dict update per event
    minutes: defaultdict[tuple[int, str, str, str], int] = defaultdict(int)
    for s_bucket in buckets.values():
        for ev in s_bucket.applied:
            minutes[(ev.ts // 60_000, ev.exchange, ev.symbol, ev.side)] += ev.usd_cents
    for (minute, exchange, symbol, side), cents in minutes.items():
        name = f"{minute % 60}:{side}"
        for at in series_slots(minute * 60_000, exchange, symbol, True):
            series[(at, name)] += cents
    plan_series: list[Any] = []
    for (idx, name), v in series.items():
        plan_series += (idx, name, str(v))
    plan_expire: list[int] = []
    for idx, when in expire.items():
        plan_expire += (idx, when)
    plan_late: list[Any] = []
    if late_series:
        for ev in late_events:
            argv.append(ev.id)
            name = f"{ev.ts // 60_000 % 60}:{ev.side}"
            when = (ev.ts // HOUR_MS + 1) * HOUR_MS + retention_ms
            hashes = series_slots(ev.ts, ev.exchange, ev.symbol, False)
            plan_late += (len(argv), *hashes, name, str(ev.usd_cents), when)

    plan = {
        "g": group, "gen": layout.gen, "cg": int(check_generation),
        "now": clock_ms if clock_ms is not None else -1, "G": BUCKET_MS, "W": WINDOW_SPEC,
        "F": max_future_ms, "wm": [str(w) for w in wm], "f": [CAP, LARGEST_CENTS, LARGEST_ID],
        "b": plan_buckets, "w": plan_groups, "s": plan_series, "e": plan_expire,
        "u": plan_late, "a": acks,
        "n": [counts[APPLIED], counts[DUPLICATE], counts[TOO_LATE], counts[FUTURE]],
        "v": LAYOUT_VERSION,
    }  # fmt: skip
    argv[0] = orjson.dumps(plan).decode()
    checked = [(n, b.ids) for n, b in buckets.items()]
    return Plan(keys, argv, verdict_text, counted, checked, layout.gen, offered)
