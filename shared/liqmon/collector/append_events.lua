-- Append a batch of liquidation events to the event stream in one round trip.
--
-- KEYS[1]  the event stream (liq:v1:events)
-- ARGV[1]  MINID for the approximate time trim, in ms (now - retention)
-- ARGV[2]  JSON array of the field names, in the schema's order (liqmon.event.FIELDS)
-- ARGV[3]  JSON array of events, each a JSON array of string values in that same order
--
-- Invariants:
-- * entries are added in ARGV order with auto ids, so stream order = batch order;
-- * each entry's fields are exactly name/value pairs of liqmon.event.FIELDS (byte-identical
--   to `LiquidationEvent.to_fields()`, what `liqmon.bus.append_events` writes);
-- * the trim is by time only (MINID ~), like liqmon.bus.append_events: a burst never pushes
--   out entries a lagging consumer has not read.
-- Returns the number of entries added.
local names = cjson.decode(ARGV[2])
local rows = cjson.decode(ARGV[3])
local width = #names
local args = {}
for index = 1, #rows do
  local row = rows[index]
  for f = 1, width do
    args[2 * f - 1] = names[f]
    args[2 * f] = row[f]
  end
  if index == 1 then
    redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', unpack(args, 1, 2 * width))
  else
    redis.call('XADD', KEYS[1], '*', unpack(args, 1, 2 * width))
  end
end
return #rows
