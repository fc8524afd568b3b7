-- One page of a coin's index (newest first) and the event stream's entries it names, in
-- one round trip: `/api/liquidations?symbol=` (tape.py). The index holds one entry per
-- event under the event's own stream id, so each id is looked up in the stream directly.
--
-- KEYS[1]  the event stream (liq:v1:events)
-- KEYS[2]  the coin's index (Keys.events_by_symbol)
-- ARGV     1 max id (XREVRANGE syntax: "+" or "(<id>" or "<id>")  2 min id  3 count
-- Returns  {{stream_id, {field, value, ...} or false}, ...}: one per index entry read,
--          newest first; false where the stream no longer holds the entry (trimmed
--          between the index write and now, or trimmed there first).
-- Read-only; O(count x log N).
local out = {}
local page = redis.call('XREVRANGE', KEYS[2], ARGV[1], ARGV[2], 'COUNT', ARGV[3])
for i, entry in ipairs(page) do
  local found = redis.call('XRANGE', KEYS[1], entry[1], entry[1])
  out[i] = {entry[1], found[1] and found[1][2] or false}
end
return out
