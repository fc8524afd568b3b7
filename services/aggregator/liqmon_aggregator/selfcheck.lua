#!lua flags=no-writes
--[[ selfcheck.lua: recount one window from its buckets and compare (read only).

Layout: liqmon.windows (field names); buckets are read with bucket.lua (included).
KEYS  1 watermarks hash   2 window totals hash   3 window coin hash   4 bucket index zset
      5.. for each listed bucket two keys: totals hash, coins string (msgpack records
      [symbol, side, cents, count, p0..p3])
ARGV  1 window name   2 comma list of the buckets the index holds above the watermark
      (checked here: a different list returns an error, try again)
      3 prefix of the non-sum fields ("x:")
RETURNS {drift_cents, drift_other, buckets recounted}: drift_cents sums |window - recount|
  over the USD fields (L, S, <ex>:L, <ex>:S, <sym>:L, <sym>:S); drift_other over counts,
  capped slots and price limbs. Both must be 0 (the invariant of apply.lua/evict.lua).
EXACT: a window field may pass 2^53 (a busy coin's price limbs do within minutes; Redis
  holds it exactly, up to 2^63), where a Lua double rounds. So both sides are kept as two
  doubles {hi, lo}, value = hi * 2^32 + lo: Redis's text is parsed digit by digit, each
  recounted record value (at most 2^52: fold.py) is split, and both are added with a carry.
  A nonzero difference can never round to 0.
]]
local B = 2 ^ 32
-- a decimal integer string (as Redis stores a hash field) as an exact {hi, lo}
local function parse(text)
  local neg = string.sub(text, 1, 1) == '-'
  local hi, lo = 0, 0
  for q = neg and 2 or 1, #text do
    lo = lo * 10 + string.byte(text, q) - 48
    local carry = math.floor(lo / B)
    hi, lo = hi * 10 + carry, lo - carry * B
  end
  if neg then return {-hi, -lo} end
  return {hi, lo}
end
-- add v (decimal text, or a number below 2^53) to the exact sum t[f]
local function add(t, f, v)
  local hi, low
  if type(v) == 'string' then
    local p = parse(v)
    hi, low = p[1], p[2]
  else
    low = v % B
    hi = (v - low) / B
  end
  local s = t[f]
  if not s then
    s = {0, 0}
    t[f] = s
  end
  local lo = s[2] + low
  local carry = math.floor(lo / B)
  s[1] = s[1] + hi + carry
  s[2] = lo - carry * B
end
local wm = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
local xpre = ARGV[3]
if not wm then return {0, 0, 0} end
local listed = {}
for b in string.gmatch(ARGV[2], '[^,]+') do listed[#listed + 1] = tonumber(b) end
local have = redis.call('ZRANGEBYSCORE', KEYS[4], wm + 1, '+inf')
local rw, rc, seen, n = {}, {}, 0, 0
for j, b in ipairs(listed) do
 if b > wm then
  n = n + 1
  if tonumber(have[n]) ~= b then return redis.error_reply('selfcheck: stale bucket list') end
  local k = 5 + 2 * (j - 1)
  local any = for_each_sum(KEYS[k], KEYS[k + 1], xpre, function(kind, f, v)
    add(kind == 't' and rw or rc, f, v)
  end)
  if any then seen = seen + 1 end
 end
end
if n ~= #have then return redis.error_reply('selfcheck: stale bucket list') end
local cents, other = 0, 0
local function compare(key, recount)
  local flat = redis.call('HGETALL', key)
  local stored = {}
  for j = 1, #flat, 2 do stored[flat[j]] = parse(flat[j + 1]) end
  local fields = {}
  for f in pairs(stored) do fields[f] = true end
  for f in pairs(recount) do fields[f] = true end
  local zero = {0, 0}
  for f in pairs(fields) do
    local s, r = stored[f] or zero, recount[f] or zero
    -- hi and lo differences are exact; scaling by 2^32 too; their sum rounds only if large
    local d = math.abs((s[1] - r[1]) * B + (s[2] - r[2]))
    local tail = string.sub(f, -1)
    if tail == 'L' or tail == 'S' then cents = cents + d else other = other + d end
  end
end
compare(KEYS[2], rw)
compare(KEYS[3], rc)
return {string.format('%d', cents), string.format('%d', other), seen}
