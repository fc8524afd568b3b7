"""Consume the event stream through the consumer group and fold it into the windows.

Delivery is at least once; apply.lua makes it exactly once in effect. The loop:
1. on start (and after any failure or claim) re-read our own pending entries (`0`),
   paging through them, then switch to new entries (`>`, blocking);
2. every `janitor_ms`, XAUTOCLAIM entries idle longer than `claim_idle_ms` on any
   consumer (a dead one's PEL) and process them like our own history;
3. an entry delivered more than `max_deliveries` times without being acked, a malformed
   one, or one too far in the future goes to the dead-letter stream and is acked; an
   entry trimmed from the stream while pending (empty fields) is acked and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from liqmon import consumer_group
from liqmon.consumer_group import TRANSIENT, GroupMember, entry_dict
from liqmon.consumer_group import RawEntry as Entry
from liqmon.deadletter import append_deadletters, deadletter_fields
from liqmon.event import InvalidEvent
from liqmon.keys import AGGREGATOR_GROUP, Keys
from liqmon.linger import linger_left, lingers, span_since
from liqmon.logs import LogOnce
from liqmon.runtime import unless_stopped

from .apply import APPLIED, DUPLICATE, FUTURE, TOO_LATE, Applier, Plan, Prepared
from .prepared import prepare_entry
from .settings import ConsumerSettings

logger = logging.getLogger(__name__)


async def ensure_group(redis: Redis, keys: Keys) -> None:
    """Create the group at id 0 (a fresh deployment replays what the stream holds)."""
    await consumer_group.ensure_group(redis, keys.events, AGGREGATOR_GROUP, "0")


@dataclass
class Triaged:
    """One batch after triage: what to apply, what to dead-letter, what was trimmed."""

    entries: dict[str, list[str]]
    good: list[Prepared] = field(default_factory=list)
    plan: Plan | None = None
    letters: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    trimmed: list[str] = field(default_factory=list)


class Consumer:
    """One consumer of the group. `redis` for commands, `reader` for the blocking reads."""

    def __init__(
        self,
        redis: Redis,
        reader: Redis,
        keys: Keys,
        applier: Applier,
        settings: ConsumerSettings,
        *,
        name: str,
    ) -> None:
        self.redis = redis
        self.reader = reader
        self.keys = keys
        self.applier = applier
        self.settings = settings
        self.name = name
        #: reads raw entries (`[field, value, …]`): triage needs no dict per entry
        self.member = GroupMember(keys.events, AGGREGATOR_GROUP, name, settings.aggregator_batch)
        self.counts: Counter[str] = Counter()
        self._log_once = LogOnce(logger)
        self._next_janitor = 0.0

    # --- reading ----------------------------------------------------------------------
    async def read_new(self, block_ms: int | None) -> list[Entry]:
        return await self.member.read(self.reader, ">", block_ms)

    async def deliveries(self, entries: Sequence[Entry]) -> dict[str, int]:
        """Delivery counts of (our own) pending entries, from XPENDING."""
        if not entries:
            return {}
        rows = await self.redis.xpending_range(
            self.keys.events,
            AGGREGATOR_GROUP,
            min=entries[0][0],
            max=entries[-1][0],
            count=len(entries) + 10,
            consumername=self.name,
        )
        return {str(r["message_id"]): int(r["times_delivered"]) for r in rows}

    # --- processing -------------------------------------------------------------------
    async def process(self, entries: Sequence[Entry], delivered: dict[str, int]) -> None:
        """Apply, dead-letter or drop every entry; each ends up acked (or is retried)."""
        await self.finish(self.triage(entries, delivered))

    def triage(self, entries: Sequence[Entry], delivered: dict[str, int]) -> Triaged:
        """Split a batch into events to apply (parsed, validated, prepared), entries to
        dead-letter and entries trimmed meanwhile. The CPU half of processing: no Redis
        round trip, so it can overlap with the previous batch's apply.lua."""
        out = Triaged(entries=dict(entries))
        max_deliveries = self.settings.aggregator_max_deliveries
        for sid, fields in entries:
            if not fields:
                out.trimmed.append(sid)
                continue
            times = delivered.get(sid, 1)
            if times > max_deliveries:
                out.letters.append((sid, _letter(sid, fields, f"failed {times - 1} deliveries")))
                continue
            try:
                out.good.append(prepare_entry(sid, fields))
            except (InvalidEvent, ValueError) as exc:
                self._log_once.warning(str(exc)[:60], "dead-lettering %s: %s", sid, exc)
                out.letters.append((sid, _letter(sid, fields, f"malformed: {exc}")))
        if out.good:
            out.plan = self.applier.fold(out.good)
        return out

    async def finish(self, batch: Triaged) -> None:
        """The Redis half: fold + apply.lua (verify, store, XACK), then dead letters."""
        statuses = await self._apply(batch.good, batch.plan)
        for p, status in zip(batch.good, statuses, strict=True):
            if status == FUTURE:
                reason = "event time too far ahead"
                fields = batch.entries[p.stream_id]
                batch.letters.append((p.stream_id, _letter(p.stream_id, fields, reason)))
            self.counts[_COUNTER[status]] += 1
        await self._settle(batch.letters, batch.trimmed)

    async def _apply(self, good: list[Prepared], plan: Plan | None = None) -> str:
        """Statuses per entry; "?" for an entry apply.lua refuses (it stays pending, is
        redelivered by the janitor, and is dead-lettered after `max_deliveries`)."""
        if not good:
            return ""
        try:
            return await self.applier.apply(good, plan)
        except ResponseError as exc:
            if len(good) == 1:
                self._log_once.warning(
                    "apply-error", "apply failed for %s: %s", good[0].stream_id, exc
                )
                return "?"
        # isolate the entry the script refuses; the others go through
        return "".join([await self._apply([p]) for p in good])

    async def _settle(self, letters: list[tuple[str, dict[str, str]]], trimmed: list[str]) -> None:
        if letters:
            await append_deadletters(self.redis, self.keys, [f for _, f in letters])
        ack = [sid for sid, _ in letters] + trimmed
        if not ack:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.xack(self.keys.events, AGGREGATOR_GROUP, *ack)
        if letters:
            pipe.hincrby(self.keys.agg_counters, "deadlettered", len(letters))
        if trimmed:
            pipe.hincrby(self.keys.agg_counters, "trimmed", len(trimmed))
        await pipe.execute()
        self.counts["deadlettered"] += len(letters)
        self.counts["trimmed"] += len(trimmed)

    # --- the loops ----------------------------------------------------------------------
    async def drain_history(self) -> int:
        """Process our own pending entries, oldest first; returns how many were seen."""
        seen = 0
        async for entries in self.member.pending_pages(self.redis):
            seen += len(entries)
            await self.process(entries, await self.deliveries(entries))
        return seen

    async def claim_idle(self, min_idle_ms: int) -> int:
        """XAUTOCLAIM idle entries of any consumer into ours and process them."""
        claimed = 0
        async for entries, deleted in self.member.idle_pages(self.redis, min_idle_ms):
            if deleted:  # 7.0+: trimmed entries already left the PEL
                await self.redis.hincrby(self.keys.agg_counters, "trimmed", len(deleted))
            if entries:
                claimed += len(entries)
                await self.process(entries, await self.deliveries(entries))
        if claimed:
            logger.info("claimed %d idle entries", claimed)
        return claimed

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: janitor when due, own history after any trouble, then new
        entries. Reads run one batch ahead: batch N+1 is read, then batch N's apply.lua
        is sent and batch N+1 is parsed in a worker thread while Redis runs the script
        (Redis would queue a read behind the script, so reading first is what lets the
        two overlap). While the stream is busy (`_lingers`) the overlap gives way to the
        linger: the batch read is applied at once, and the next read waits until
        `aggregator_linger_ms` after the last one. On `stop` the parsed batch is still
        applied and acked."""
        history = True
        failures = 0
        parsed: Triaged | None = None
        entries: list[Entry] = []
        read_at = 0.0
        read_span = 0.0  # from the read before the last to the last (0: a first read)
        while not stop.is_set():
            try:
                if time.monotonic() >= self._next_janitor or history:
                    if parsed is not None:
                        await self.finish(parsed)
                        parsed = None
                    if time.monotonic() >= self._next_janitor:
                        self._next_janitor = (
                            time.monotonic() + self.settings.aggregator_janitor_ms / 1000
                        )
                        await self.claim_idle(self.settings.aggregator_claim_idle_ms)
                    if history:
                        await self.drain_history()
                        history = False
                if parsed is not None and self._lingers(len(entries), read_span):
                    # busy: apply what was read now, and let the stream fill meanwhile
                    await self.finish(parsed)
                    parsed = None
                    await self._linger(stop, read_at)
                # with a batch waiting, do not block: it would wait for a quiet stream
                block = None if parsed is not None else self.settings.aggregator_block_ms
                now = time.monotonic()
                read_span, read_at = span_since(read_at, now), now
                entries = await self._read_or_stop(stop, block)
                applying = asyncio.ensure_future(self.finish(parsed)) if parsed else None
                parsed = None
                try:
                    if entries:
                        # A worker thread, not the loop, even for small batches: triaging
                        # on the loop (after letting the EVALSHA out) cost the same CPU
                        # per event, in the pipeline (crash e2e) and with 50-entry
                        # batches (bench/aggregator.py --batch 50), so the hand-off is not
                        # worth trading for an overlap that would hang on how many loop
                        # turns redis-py takes to write a command.
                        parsed = await asyncio.to_thread(self.triage, entries, {})
                finally:
                    if applying is not None:
                        await applying
                failures = 0
            except (*TRANSIENT, ResponseError) as exc:
                parsed = None  # its entries stay pending: the history pass re-reads them
                failures += 1
                history = True
                delay = min(5.0, 0.1 * 2**failures)
                logger.warning("consumer error (%s); retrying in %.1fs", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        if parsed is not None:
            await self.finish(parsed)

    def _lingers(self, last_read: int, span_s: float) -> bool:
        """Does the read after one of `last_read` entries, `span_s` after the read before
        it, wait (`liqmon.linger`)?"""
        s = self.settings
        return lingers(last_read, s.aggregator_batch, s.aggregator_linger_ms / 1000, span_s)

    async def _linger(self, stop: asyncio.Event, read_at: float) -> None:
        """Let the stream fill until `aggregator_linger_ms` after the last read (a stop
        ends the wait)."""
        wait = linger_left(read_at, self.settings.aggregator_linger_ms / 1000)
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)

    async def _read_or_stop(self, stop: asyncio.Event, block_ms: int | None) -> list[Entry]:
        """A blocking read that a stop request interrupts (entries it may have taken stay
        in our PEL and are re-read on the next start or claimed by another consumer)."""
        return await unless_stopped(self.read_new(block_ms), stop, [], TRANSIENT)


_COUNTER = {APPLIED: "applied", DUPLICATE: "duplicates", TOO_LATE: "too_late", FUTURE: "future"}
_COUNTER["?"] = "failed"


def _letter(sid: str, fields: list[str], reason: str) -> dict[str, str]:
    raw = orjson.dumps(entry_dict(fields), option=orjson.OPT_NON_STR_KEYS).decode()
    context = f"stream_id={sid}"
    return deadletter_fields(source="aggregator", reason=reason, raw=raw, context=context)
