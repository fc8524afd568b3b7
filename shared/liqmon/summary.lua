#!lua flags=no-writes
--[[ summary.lua: read every window at once (read only: one consistent snapshot).

Layout: liqmon.windows (field names), liqmon.keys (key names).
KEYS  for each window (liqmon.windows.WINDOWS order) 5 keys: totals hash, coin hash,
      rank L, rank S, largest zset (members: event ids); then for each exchange 3 keys:
      gaps zset, collector status hash, first-start string; last the largest events hash
      (event id -> EVENT JSON)
ARGV  1 top N   2 window count   3 exchange count   4 count-field suffix ("n": the count of
      coin field `<sym>:L` is `<sym>:Ln`)
RETURNS {now_ms, per window {totals flat, rank L flat, counts L, rank S flat, counts S,
  largest EVENT JSON or false}, per exchange {max gap end or false, open since or false,
  first start or false, 1 if the status hash exists else 0}}
]]
local top, nw, ne, nsuffix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local out = {string.format('%d', server_ms())}
local function ranked(rk, ck, side)
  local flat = redis.call('ZREVRANGE', rk, 0, top - 1, 'WITHSCORES')
  if #flat == 0 then return flat, {} end
  local fields = {}
  for j = 1, #flat, 2 do fields[#fields + 1] = flat[j] .. ':' .. side .. nsuffix end
  return flat, redis.call('HMGET', ck, unpack(fields))
end
for i = 0, nw - 1 do
  local k = 1 + 5 * i
  local rl, cl = ranked(KEYS[k + 2], KEYS[k + 1], 'L')
  local rs, cs = ranked(KEYS[k + 3], KEYS[k + 1], 'S')
  local lg = redis.call('ZREVRANGE', KEYS[k + 4], 0, 0)
  local largest = lg[1] and redis.call('HGET', KEYS[#KEYS], lg[1]) or false
  out[#out + 1] = {redis.call('HGETALL', KEYS[k]), rl, cl, rs, cs, largest}
end
for i = 0, ne - 1 do
  local k = 1 + 5 * nw + 3 * i
  local gap = redis.call('ZREVRANGE', KEYS[k], 0, 0, 'WITHSCORES')
  local open = redis.call('HGET', KEYS[k + 1], 'gap_open_since')
  local first = redis.call('GET', KEYS[k + 2]) or false
  out[#out + 1] = {gap[2] or false, open or false, first, redis.call('EXISTS', KEYS[k + 1])}
end
return out
