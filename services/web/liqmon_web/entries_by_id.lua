-- The event stream's entries at the given stream ids, in the order asked: the second half
-- of `/api/liquidations?symbol=` (the per-coin index gives the ids, tape.py). One round trip
-- instead of one XRANGE per id.
--
-- KEYS[1]  the event stream (liq:v1:events)
-- ARGV     stream ids ("<ms>-<seq>"), each one that exists in the index
-- Returns  {entry_or_false, ...}, one per ARGV in the same order: an entry is
--          {stream_id, {field, value, ...}}; false where the id is no longer in the stream
--          (trimmed between the index read and this one, or trimmed there first).
-- Read-only; O(#ARGV) (XRANGE id id is O(log N) each).
local out = {}
for i, id in ipairs(ARGV) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  out[i] = found[1] or false
end
return out
