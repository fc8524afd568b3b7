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
  3 JSON array of the rows one after the other, each (#names + 2) items: the values in
    the names' order, then the KEYS index of the row's appended-ids hash, then the KEYS
    index of its symbol's index stream (one flat array: a table per row would cost Lua as
    much again as the values themselves)
  4 the index key prefix ("<base>:events:sym:"), only to drop an index whose symbol was
    quiet for longer than the retention (read from KEYS[2]; the one key not in KEYS)
  5 the position of `symbol` among the field names
  6.. per row, its id as stored in the appended-ids hash (liqmon.keys.id_field)
RETURNS {appended count, one letter per row: "A" appended, "D" refused (id already held)}
INVARIANTS
  * Rows are appended in ARGV order with auto ids, so stream order = batch order; each
    entry's fields are exactly liqmon.event.FIELDS, byte-identical to
    `LiquidationEvent.to_fields()` (what the raw `liqmon.bus.append_events` writes).
  * An id is appended only if its bucket's hash does not hold it (nor an earlier row of
    the batch with the same id and bucket), and then added to it in the same call: the
    stream never gets an id twice within the retention. The check is one HMGET and the
    adding one HSET per bucket and batch (not a call per row: each call from Lua costs
    about as much as a small command).
  * Each appended entry is also XADDed to its symbol's index stream with the SAME entry id;
    both streams are trimmed by time only (MINID ~): a burst never pushes out entries a
    lagging consumer has not read.
]]
local retention = tonumber(ARGV[1])
local names = cjson.decode(ARGV[2])
local flat = cjson.decode(ARGV[3])
local width = #names
local stride = width + 2
local count = #flat / stride
local symbol_at = tonumber(ARGV[5])
local now = server_ms()
local minid = string.format('%d', now - retention)
local nowtext = string.format('%d', now)
-- at most this many ids in one HMGET / HSET (unpack's stack limit is 8,000 values)
local chunk = 1000

-- indexes of symbols quiet for longer than the retention: all their entries are trimmed
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. minid, 'LIMIT', 0, 16)
for _, sym in ipairs(stale) do
  redis.call('DEL', ARGV[4] .. sym)
  redis.call('ZREM', KEYS[2], sym)
end

-- the rows of each appended-ids hash, in batch order
local rows_of, buckets = {}, {}
for index = 1, count do
  local ids_key = flat[(index - 1) * stride + width + 1]
  local rows = rows_of[ids_key]
  if rows then
    rows[#rows + 1] = index
  else
    rows_of[ids_key] = {index}
    buckets[#buckets + 1] = ids_key
  end
end

-- dedup: a row is appended iff its id is neither held nor taken by an earlier row
local appended = {}
for _, ids_key in ipairs(buckets) do
  local key, rows, taken = KEYS[ids_key], rows_of[ids_key], {}
  for first = 1, #rows, chunk do
    local last = math.min(first + chunk - 1, #rows)
    local ids, new = {}, {}
    for j = first, last do ids[j - first + 1] = ARGV[5 + rows[j]] end
    local held = redis.call('HMGET', key, unpack(ids))
    for j = first, last do
      local id = ids[j - first + 1]
      if not held[j - first + 1] and not taken[id] then
        taken[id] = true
        appended[rows[j]] = true
        new[#new + 1] = id
        new[#new + 1] = ''
      end
    end
    if #new > 0 then redis.call('HSET', key, unpack(new)) end
  end
  if next(taken) then redis.call('PEXPIRE', key, retention) end
end

local args, statuses = {}, {}
for f = 1, width do args[2 * f - 1] = names[f] end
local trimmed, symbols, zadd = false, {}, {}
local added = 0
for index = 1, count do
  if appended[index] then
    statuses[index] = 'A'
    added = added + 1
    local base = (index - 1) * stride
    for f = 1, width do args[2 * f] = flat[base + f] end
    local sid
    if not trimmed then
      sid = redis.call('XADD', KEYS[1], 'MINID', '~', minid, '*', unpack(args, 1, 2 * width))
      trimmed = true
    else
      sid = redis.call('XADD', KEYS[1], '*', unpack(args, 1, 2 * width))
    end
    local sym_key = KEYS[flat[base + width + 2]]
    if symbols[sym_key] then
      redis.call('XADD', sym_key, sid, 'i', '')
    else
      redis.call('XADD', sym_key, 'MINID', '~', minid, sid, 'i', '')
      symbols[sym_key] = true
      zadd[#zadd + 1] = nowtext
      zadd[#zadd + 1] = flat[base + symbol_at]
    end
  else
    statuses[index] = 'D'
  end
end
for first = 1, #zadd, 2 * chunk do
  redis.call('ZADD', KEYS[2], unpack(zadd, first, math.min(first + 2 * chunk - 1, #zadd)))
end
return {added, table.concat(statuses)}
