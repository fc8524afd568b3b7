--[[ append_events.lua: append a batch of events to the stream, each liquidation once, and
index each by symbol, in one atomic call (docs/EVENTS.md "Repeats" and "Per-symbol index").

KEYS
  1 the event stream (liq:v1:events)   2 the indexed-symbols zset (symbol -> last append ms)
  3.. the keys the rows point at: appended-ids hashes (one per event-time bucket) and
      per-symbol index streams
ARGV
  1 retention ms: the trim is MINID ~ (Redis now - retention), and an appended id is
    remembered until retention after the last append into its bucket
  2 JSON array of the field names, in the schema's order (liqmon.event.FIELDS)
  3 JSON array of rows: the values in that order, then the KEYS index of the row's
    appended-ids hash, then the KEYS index of its symbol's index stream
  4 the index key prefix ("<base>:events:sym:"), only to drop an index whose symbol was
    quiet for longer than the retention (read from KEYS[2]; the one key not in KEYS)
  5 the position of `symbol` among the field names
  6.. per row, its id as stored in the appended-ids hash (liqmon.keys.id_field)
RETURNS {appended count, one letter per row: "A" appended, "D" refused (id already held)}
INVARIANTS
  * Rows are appended in ARGV order with auto ids, so stream order = batch order; each
    entry's fields are exactly liqmon.event.FIELDS, byte-identical to
    `LiquidationEvent.to_fields()` (what the raw `liqmon.bus.append_events` writes).
  * An id is appended only if its bucket's hash does not hold it, and then added to it in
    the same call: the stream never gets an id twice within the retention.
  * Each appended entry is also XADDed to its symbol's index stream with the SAME entry id;
    both streams are trimmed by time only (MINID ~): a burst never pushes out entries a
    lagging consumer has not read.
]]
local retention = tonumber(ARGV[1])
local names = cjson.decode(ARGV[2])
local rows = cjson.decode(ARGV[3])
local width = #names
local symbol_at = tonumber(ARGV[5])
local now = server_ms()
local minid = string.format('%d', now - retention)
local nowtext = string.format('%d', now)

-- indexes of symbols quiet for longer than the retention: all their entries are trimmed
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. minid, 'LIMIT', 0, 16)
for _, sym in ipairs(stale) do
  redis.call('DEL', ARGV[4] .. sym)
  redis.call('ZREM', KEYS[2], sym)
end

local args, statuses = {}, {}
local trimmed, touched, symbols = false, {}, {}
local added = 0
for index = 1, #rows do
  local row = rows[index]
  local ids_key, sym_key = KEYS[row[width + 1]], KEYS[row[width + 2]]
  local id = ARGV[5 + index]
  if redis.call('HSETNX', ids_key, id, '') == 0 then
    statuses[index] = 'D'
  else
    statuses[index] = 'A'
    added = added + 1
    touched[ids_key] = true
    for f = 1, width do
      args[2 * f - 1] = names[f]
      args[2 * f] = row[f]
    end
    local sid
    if not trimmed then
      sid = redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', unpack(args, 1, 2 * width))
      trimmed = true
    else
      sid = redis.call('XADD', KEYS[1], '*', unpack(args, 1, 2 * width))
    end
    if symbols[sym_key] then
      redis.call('XADD', sym_key, sid, 'i', '')
    else
      redis.call('XADD', sym_key, 'MINID', '~', minid, sid, 'i', '')
      symbols[sym_key] = row[symbol_at]
    end
  end
end
for key in pairs(touched) do redis.call('PEXPIRE', key, retention) end
for _, sym in pairs(symbols) do redis.call('ZADD', KEYS[2], nowtext, sym) end
return {added, table.concat(statuses)}
