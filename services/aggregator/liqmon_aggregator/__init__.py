"""Aggregator: exact sliding windows and rankings from the event stream.

Design (the invariants are in the Lua scripts' headers):
- Time is cut into 5 s buckets by *event* time. Each window (3m … 1d) keeps running
  totals plus a watermark: the last bucket already subtracted from it. apply.lua adds an
  event to the bucket and to every window whose watermark is below the bucket; evict.lua
  moves a watermark forward and subtracts whole buckets. So each window always equals
  the sum of its buckets above the watermark, whatever the arrival order; an event whose
  bucket is at or below the 1d watermark is too late (counted, acked, dropped).
- Exactly once in effect: apply.lua deduplicates by event id (a set per bucket),
  increments and XACKs in one atomic call, so redeliveries, retried commands and
  exchange duplicates never count twice, and a crash can never half-apply a batch.
- Integer cents everywhere; the USD-weighted average price keeps sum(price × cents)
  exactly in 40-bit limbs (liqmon.views documents the precision).
- "Now" is Redis TIME (tests alone pass a clock), so all processes agree.
- All derived keys live under a generation (liqmon.keys `agg_*`); `liqmon rebuild`
  fills the next one from the stream and swaps the pointer.

Modules: apply (batch -> apply.lua), evictor (evict.lua), consumer (group reading,
claiming, dead letters), selfcheck (selfcheck.lua), service/main (`liqmon run
aggregator`), rebuild (`liqmon rebuild`), testing (`drain` for other parts' tests).
"""
