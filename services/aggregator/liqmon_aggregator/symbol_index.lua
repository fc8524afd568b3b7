--[[ symbol_index.lua: put back the index entries one symbol is missing (liqmon rebuild).

The per-symbol index (liqmon.keys.events_by_symbol) is written by the collectors' append
script with the main stream's entry ids; entries appended before the index existed, or
lost, are missing from its start. A stream only grows at its end, so this builds the
index again in a scratch key: the missing ids, then every entry the live index holds now
(all newer: see INVARIANTS), and renames it over the live one, in one atomic call.
KEYS  1 scratch stream (deleted first)   2 the symbol's index stream   3 indexed-symbols zset
ARGV  1 the symbol   2 score for KEYS[3] (ms of the newest entry)   3.. the missing entry
      ids, ascending, all older than the live index's first entry when they were read
RETURNS the index's length after
INVARIANTS
  * The caller read the missing ids from the main stream up to a cut taken before it read
    the index's first id; entries appended since have larger ids than both, and trimming
    only removes the oldest: so every missing id < every live id, and the order holds.
]]
redis.call('DEL', KEYS[1])
for i = 3, #ARGV do redis.call('XADD', KEYS[1], ARGV[i], 'i', '') end
local live = redis.call('XRANGE', KEYS[2], '-', '+')
for _, entry in ipairs(live) do redis.call('XADD', KEYS[1], entry[1], 'i', '') end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[3], 'GT', ARGV[2], ARGV[1])
return redis.call('XLEN', KEYS[2])
