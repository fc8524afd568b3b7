--[[ evict.lua: slide one window forward by subtracting whole buckets.

KEYS
  1 watermarks hash   2 window totals hash   3 window coin hash   4 rank zset L
  5 rank zset S       6 largest zset       7 generation pointer
  8.. for each bucket first .. first+count-1 three keys: bucket hash, ids set, caps set
ARGV
  1 window name   2 now ms override ("" = Redis TIME)   3 bucket ms   4 window span (buckets)
  5 first bucket  6 count   7 "1" = also delete the buckets (longest window only)
  8 comma list of every window name (deletion waits until all of them passed the bucket)
  9 generation of these keys   10 "1" = do nothing unless it is the live generation (so a
    tick that raced `liqmon rebuild` cannot recreate keys of a dropped generation)
RETURNS {buckets evicted, watermark after} ({0, -1} when the generation is not live)
INVARIANTS
  * wm[W] only moves forward, to at most now_bucket - span; every bucket in
    (old wm, new wm] is subtracted from W exactly once (the wm check makes a retried or
    concurrent call a no-op), so W == sum of buckets above wm[W].
  * A coin field that reaches 0 is deleted; a coin whose score reaches 0 leaves the rank.
  * A bucket is deleted only when every window's watermark is at or past it (then any
    event for it is too late, so its ids set is no longer needed for dedup either).
]]
local name = ARGV[1]
if ARGV[10] == '1' and (redis.call('GET', KEYS[7]) or '1') ~= ARGV[9] then
  return {0, '-1'}
end
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local G, span = tonumber(ARGV[3]), tonumber(ARGV[4])
local first, count = tonumber(ARGV[5]), tonumber(ARGV[6])
local delete = ARGV[7] == '1'
if not (now and G and span and first and count) or #KEYS ~= 7 + 3 * count then
  return redis.error_reply('evict: bad arguments')
end
local function fmt(v) return string.format('%d', v) end
local target = math.floor(now / G) - span
local wm = tonumber(redis.call('HGET', KEYS[1], name))
if not wm then
  redis.call('HSET', KEYS[1], name, fmt(target))
  return {0, fmt(target)}
end
if first > wm + 1 then
  return redis.error_reply('evict: first bucket ' .. first .. ' leaves a gap after ' .. wm)
end
local upto = math.min(first + count - 1, target)
if delete then
  local all = {}
  for w in string.gmatch(ARGV[8], '[^,]+') do
    if w ~= name then all[#all + 1] = w end
  end
  local others = #all > 0 and redis.call('HMGET', KEYS[1], unpack(all)) or {}
  for i = 1, #others do
    upto = math.min(upto, tonumber(others[i]) or wm)
  end
end
if upto <= wm then return {0, fmt(wm)} end

local dw, dc, dr = {}, {}, {L = {}, S = {}}
for b = wm + 1, upto do
  local k = 8 + 3 * (b - first)
  local flat = redis.call('HGETALL', KEYS[k])
  for j = 1, #flat, 2 do
    local f, v = flat[j], tonumber(flat[j + 1])
    local pre = string.sub(f, 1, 2)
    if pre == 'c:' then
      local cf = string.sub(f, 3)
      dc[cf] = (dc[cf] or 0) + v
      local tail = string.sub(cf, -2)
      if tail == ':L' or tail == ':S' then
        local side, sym = string.sub(cf, -1), string.sub(cf, 1, -3)
        dr[side][sym] = (dr[side][sym] or 0) + v
      end
    elseif pre ~= 'x:' then
      dw[f] = (dw[f] or 0) + v
    end
  end
  local mm = redis.call('HGET', KEYS[k], 'x:mm')
  if mm then redis.call('ZREM', KEYS[6], mm) end
  if delete then redis.call('DEL', KEYS[k], KEYS[k + 1], KEYS[k + 2]) end
end
for f, v in pairs(dw) do
  if redis.call('HINCRBY', KEYS[2], f, fmt(-v)) == 0 then redis.call('HDEL', KEYS[2], f) end
end
for f, v in pairs(dc) do
  if redis.call('HINCRBY', KEYS[3], f, fmt(-v)) == 0 then redis.call('HDEL', KEYS[3], f) end
end
for side, syms in pairs(dr) do
  local rk = KEYS[side == 'L' and 4 or 5]
  for sym, v in pairs(syms) do redis.call('ZINCRBY', rk, fmt(-v), sym) end
  redis.call('ZREMRANGEBYSCORE', rk, '-inf', '0')
end
redis.call('HSET', KEYS[1], name, fmt(upto))
return {upto - wm, fmt(upto)}
