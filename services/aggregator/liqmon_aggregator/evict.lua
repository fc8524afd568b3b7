--[[ evict.lua: slide one window forward by subtracting whole buckets.

Layout: liqmon.windows (field names); buckets are read with bucket.lua (included).
KEYS
  1 watermarks hash   2.. 6 the window's five keys (liqmon.windows.window_keys: totals
  hash, coin hash, rank zset L, rank zset S, largest zset)   7 generation pointer
  8 bucket index zset   9 largest events hash (id -> EVENT JSON)
  10.. for each listed bucket four keys: totals hash, coins string
  (msgpack records [symbol, side, cents, count, p0..p3]), ids hash, caps hash
ARGV
  1 window name   2 now ms override ("" = Redis TIME)   3 bucket ms   4 window span (buckets)
  5 move the watermark at most to this bucket   6 comma list of the buckets the index holds
  from wm + 1 to ARGV 5, ascending (checked here: a different list returns {-1, wm})
  7 "1" = also delete the buckets (longest window only)
  8 comma list of every window name (deletion waits until all of them passed the bucket)
  9 generation of these keys   10 "1" = do nothing unless it is the live generation (so a
    tick that raced `liqmon rebuild` cannot recreate keys of a dropped generation)
  11 field prefix of the non-sum fields of a bucket hash ("x:")   12 the field holding the
     id of the bucket's largest event, its member in the largest zset ("x:mid")
RETURNS {buckets evicted, watermark after} ({0, -1} when the generation is not live;
  {-1, wm} when the bucket list is stale: read the index again)
INVARIANTS
  * wm[W] only moves forward, to at most now_bucket - span; every bucket in
    (old wm, new wm] is subtracted from W exactly once (the wm check makes a retried or
    concurrent call a no-op), so W == sum of buckets above wm[W].
  * A coin field that reaches 0 is deleted; a coin whose score reaches 0 leaves the rank.
  * The listed buckets are exactly the index's buckets in (wm, new wm]: a bucket created
    meanwhile (a late event) makes the call return {-1, wm} instead of skipping it.
  * A bucket is deleted only when every window's watermark is at or past it (then any
    event for it is too late, so its ids hash is no longer needed for dedup either).
  * Sums are exact: a partial sum is written out before it could leave 2^52.
]]
local name = ARGV[1]
if ARGV[10] == '1' and (redis.call('GET', KEYS[7]) or '1') ~= ARGV[9] then
  return {0, '-1'}
end
local now = ARGV[2] ~= '' and tonumber(ARGV[2]) or server_ms()
local G, span, last = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local delete = ARGV[7] == '1'
local listed = {}
for b in string.gmatch(ARGV[6], '[^,]+') do listed[#listed + 1] = tonumber(b) end
if not (now and G and span and last) or #KEYS ~= 9 + 4 * #listed then
  return redis.error_reply('evict: bad arguments')
end
local function fmt(v) return string.format('%d', v) end
local target = math.floor(now / G) - span
local wm = tonumber(redis.call('HGET', KEYS[1], name))
if not wm then
  redis.call('HSET', KEYS[1], name, fmt(target))
  return {0, fmt(target)}
end
local upto = math.min(last, target)
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
local have = redis.call('ZRANGEBYSCORE', KEYS[8], wm + 1, upto)
local n = 0
for _, b in ipairs(listed) do
  if b > wm and b <= upto then
    n = n + 1
    if tonumber(have[n]) ~= b then return {-1, fmt(wm)} end
  end
end
if n ~= #have then return {-1, fmt(wm)} end

local xpre = ARGV[11]
local dw, dc, dr = {}, {}, {L = {}, S = {}}
local BIG = 2 ^ 52
-- subtract later in one HINCRBY per field, unless the partial sum would leave 2^52
local function acc(t, key, f, v)
  local s = (t[f] or 0) + v
  if s > BIG then
    redis.call('HINCRBY', key, f, fmt(-(t[f] or 0)))
    s = v
  end
  t[f] = s
end
local function rank_acc(side, sym, v)
  local t, key = dr[side], KEYS[side == 'L' and 4 or 5]
  local s = (t[sym] or 0) + v
  if s > BIG then
    redis.call('ZINCRBY', key, fmt(-(t[sym] or 0)), sym)
    s = v
  end
  t[sym] = s
end
for j, b in ipairs(listed) do
 if b > wm and b <= upto then
  local k = 10 + 4 * (j - 1)
  for_each_sum(KEYS[k], KEYS[k + 1], xpre, function(kind, f, v, sym, side)
    if kind == 't' then
      local n = tonumber(v)
      if n > BIG then
        -- past a double's exact range: subtract Redis's own text of it
        redis.call('HINCRBY', KEYS[2], f, '-' .. v)
        dw[f] = dw[f] or 0  -- so the field is still deleted if it reaches 0
      else
        acc(dw, KEYS[2], f, n)
      end
    else
      acc(dc, KEYS[3], f, v)
      if sym then rank_acc(side, sym, v) end
    end
  end)
  local mm = redis.call('HGET', KEYS[k], ARGV[12])
  if mm then redis.call('ZREM', KEYS[6], mm) end
  if mm and delete then redis.call('HDEL', KEYS[9], mm) end
  if delete then
    redis.call('DEL', KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3])
    redis.call('ZREM', KEYS[8], fmt(b))
  end
 end
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
return {n, fmt(upto)}
