--[[ apply.lua: dedup + fold + XACK a batch of events, atomically.

KEYS
  1 events stream            2 generation pointer        3 watermarks hash (gen)
  4 stats hash (gen)         5 recent zset (gen)         6 late-ids set (gen; rebuild only)
  7.. for each window i (ARGV[6] order) five keys starting at 7+5*(i-1):
      window totals hash, window coin hash, rank zset L, rank zset S, largest zset
  then the keys the records point at: for each distinct bucket three consecutive keys
  (bucket hash, bucket ids set, bucket caps set) and the series hashes.
ARGV
  1 consumer group ("" = do not XACK: rebuild replays with XRANGE)
  2 expected generation     3 "1" = refuse (return {"STALE", live}) if the pointer differs
  4 now ms override ("" = Redis TIME; only tests pass a value)
  5 bucket ms   6 "name:span_buckets,..." shortest window first, longest (1d) last
  7 max future ms   8 series retention ms   9 recent size   10 record count N
  11 "1" = too-late events still feed the per-minute series (rebuild), deduped by KEYS[6]
  12.. N records of 15 fields: stream id, event id, exchange, symbol, side (L|S), cents,
      ts ms, cap slot ("" unless sampled), price limbs p0 p1 p2, EVENT JSON,
      KEYS index of the bucket hash, KEYS index of the first of 4 series hashes
      (all, ex:<exchange>, c:<sym>, cx:<sym>:<exchange>), "1" = (re)set those series
      hashes' expiry (the caller skips it once an applied event has set it)
RETURNS {"OK", statuses, now_ms}: one char per record, A applied, D duplicate, T too late
  (all three acked), F future (not acked: the caller dead-letters it and acks).
INVARIANTS
  * An event in bucket b is added to window W iff b > wm[W] when applied; the evictor
    subtracts whole buckets when it moves wm[W] past them. So every window == the sum of
    its buckets above the watermark, whatever the arrival order.
  * b <= wm[longest] is too late; an event id is counted at most once per generation
    (SADD on the bucket's ids set), and the XACK happens in this same script.
  * Every value is validated before the first write (a Lua error keeps earlier writes).
  * Money is integer cents; Lua sums stay < 2^53 (cents <= 1e13, limbs < 2^40, N <= 1000).
  * A rank zset holds only coins with a positive total (a dust event, 0 cents, adds none).
]]
local group = ARGV[1]
if ARGV[3] == '1' then
  local live = redis.call('GET', KEYS[2]) or '1'
  if live ~= ARGV[2] then return {'STALE', live} end
end
local now
if ARGV[4] ~= '' then
  now = tonumber(ARGV[4])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local G = tonumber(ARGV[5])
local names, spans = {}, {}
for name, span in string.gmatch(ARGV[6], '([^:,]+):(%d+)') do
  names[#names + 1] = name
  spans[#spans + 1] = tonumber(span)
end
local NW = #names
local maxfut, retention = tonumber(ARGV[7]), tonumber(ARGV[8])
local recentmax, n = tonumber(ARGV[9]), tonumber(ARGV[10])
local late_series = ARGV[11] == '1'
local REC, A0 = 15, 11
if not (now and G and maxfut and retention and recentmax and n and NW > 0) then
  return redis.error_reply('apply: bad ARGV header')
end
for i = 0, n - 1 do
  local o = A0 + i * REC
  for _, k in ipairs({6, 7, 9, 10, 11, 13, 14}) do
    if not tonumber(ARGV[o + k]) then
      return redis.error_reply('apply: record ' .. i .. ' field ' .. k .. ' not a number')
    end
  end
  local s = ARGV[o + 5]
  if s ~= 'L' and s ~= 'S' then return redis.error_reply('apply: bad side') end
end

local function fmt(v) return string.format('%d', v) end
local now_b = math.floor(now / G)

-- watermarks (lazily initialised to "now" so a fresh window starts empty)
local wm = {}
local raw = redis.call('HMGET', KEYS[3], unpack(names))
for i = 1, NW do
  local v = tonumber(raw[i])
  if not v then
    v = now_b - spans[i]
    redis.call('HSET', KEYS[3], names[i], fmt(v))
  end
  wm[i] = v
end

local delta = {}       -- key -> field -> increment
local function add(key, field, v)
  if v == 0 then return end
  local t = delta[key]
  if not t then t = {}; delta[key] = t end
  t[field] = (t[field] or 0) + v
end
local rank = {}        -- rank key -> symbol -> increment
local function addrank(key, sym, v)
  local t = rank[key]
  if not t then t = {}; rank[key] = t end
  t[sym] = (t[sym] or 0) + v
end
local tb, cb, rb, bnum = {}, {}, {}, {}  -- per bucket key: totals, coin, rank deltas, b
local fieldnames = {}  -- "<ex><side>" / "<sym>:<side>" -> field names
local bmax = {}        -- bucket key -> {mx, mid, mm, orig_mm, b, changed}
local expire = {}      -- series key -> expire-at ms
local acks, recent = {}, {}
local statuses = {}
local applied, dups, late, future = 0, 0, 0, 0

local function series(sbase, side, cents, ts, set_expiry)
  local field = fmt(math.floor(ts / 60000) % 60) .. ':' .. side
  local at = (math.floor(ts / 3600000) + 1) * 3600000 + retention
  for k = 0, 3 do
    local key = KEYS[sbase + k]
    add(key, field, cents)
    if set_expiry then expire[key] = at end
  end
end

for i = 0, n - 1 do
  local o = A0 + i * REC
  local sid, id, ex, sym, side = ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5]
  local cents, ts, slot = tonumber(ARGV[o + 6]), tonumber(ARGV[o + 7]), ARGV[o + 8]
  local bidx, sbase = tonumber(ARGV[o + 13]), tonumber(ARGV[o + 14])
  local set_expiry = ARGV[o + 15] == '1'
  local b = math.floor(ts / G)
  if ts > now + maxfut then
    future = future + 1
    statuses[#statuses + 1] = 'F'
  elseif b <= wm[NW] then
    late = late + 1
    acks[#acks + 1] = sid
    statuses[#statuses + 1] = 'T'
    if late_series and redis.call('SADD', KEYS[6], id) == 1 then
      series(sbase, side, cents, ts, set_expiry)
    end
  elseif redis.call('SADD', KEYS[bidx + 1], id) == 0 then
    dups = dups + 1
    acks[#acks + 1] = sid
    statuses[#statuses + 1] = 'D'
  else
    applied = applied + 1
    acks[#acks + 1] = sid
    statuses[#statuses + 1] = 'A'
    local bk = KEYS[bidx]
    local p0, p1, p2 = tonumber(ARGV[o + 9]), tonumber(ARGV[o + 10]), tonumber(ARGV[o + 11])
    local capped = slot ~= '' and redis.call('SADD', KEYS[bidx + 2], slot) == 1
    -- field names, built once per batch for each exchange/side and coin/side
    local en = fieldnames[ex .. side]
    if not en then
      local exs = ex .. ':' .. side
      en = {side, side .. 'n', exs, exs .. 'n'}
      fieldnames[ex .. side] = en
    end
    local cn = fieldnames[sym .. ":" .. side]
    if not cn then
      local cs = sym .. ':' .. side
      cn = {cs, cs .. 'n', cs .. 'p0', cs .. 'p1', cs .. 'p2'}
      fieldnames[cs] = cn
    end
    -- fold into this batch's delta of the bucket; windows get whole bucket deltas below
    local t = tb[bk]
    if not t then
      t = {}; tb[bk] = t; cb[bk] = {}; rb[bk] = {L = {}, S = {}}; bnum[bk] = b
    end
    local c, r = cb[bk], rb[bk][side]
    t[en[1]] = (t[en[1]] or 0) + cents; t[en[2]] = (t[en[2]] or 0) + 1
    t[en[3]] = (t[en[3]] or 0) + cents; t[en[4]] = (t[en[4]] or 0) + 1
    if capped then t['cap'] = (t['cap'] or 0) + 1 end
    c[cn[1]] = (c[cn[1]] or 0) + cents; c[cn[2]] = (c[cn[2]] or 0) + 1
    c[cn[3]] = (c[cn[3]] or 0) + p0; c[cn[4]] = (c[cn[4]] or 0) + p1
    if p2 ~= 0 then c[cn[5]] = (c[cn[5]] or 0) + p2 end
    r[sym] = (r[sym] or 0) + cents
    -- largest event of the bucket: greatest cents, ties broken by greatest id
    local m = bmax[bk]
    if not m then
      local cur = redis.call('HMGET', bk, 'x:mx', 'x:mid', 'x:mm')
      m = {tonumber(cur[1]) or -1, cur[2] or '', cur[3] or false, cur[3] or false, b, false}
      bmax[bk] = m
    end
    if cents > m[1] or (cents == m[1] and id > m[2]) then
      m[1], m[2], m[3], m[6] = cents, id, id .. ' ' .. ARGV[o + 12], true
    end
    recent[#recent + 1] = fmt(ts)
    recent[#recent + 1] = ARGV[o + 12]
    series(sbase, side, cents, ts, set_expiry)
  end
end

-- each touched bucket, then every window that still includes it (b > wm[w])
for bk, t in pairs(tb) do
  local c, b = cb[bk], bnum[bk]
  for field, v in pairs(t) do add(bk, field, v) end
  for field, v in pairs(c) do add(bk, 'c:' .. field, v) end
  for w = 1, NW do
    if b > wm[w] then
      local base = 7 + 5 * (w - 1)
      local wk, ck = KEYS[base], KEYS[base + 1]
      for field, v in pairs(t) do add(wk, field, v) end
      for field, v in pairs(c) do add(ck, field, v) end
      for side, syms in pairs(rb[bk]) do
        local rk = KEYS[base + (side == 'L' and 2 or 3)]
        for sym, v in pairs(syms) do addrank(rk, sym, v) end
      end
    end
  end
end
for key, fields in pairs(delta) do
  for field, v in pairs(fields) do
    redis.call('HINCRBY', key, field, fmt(v))
  end
end
for key, syms in pairs(rank) do
  for sym, v in pairs(syms) do
    -- a $0.00 (dust) liquidation changes no total: it must not rank a coin at zero
    if v ~= 0 then redis.call('ZINCRBY', key, fmt(v), sym) end
  end
end
for bk, m in pairs(bmax) do
  if m[6] then
    redis.call('HSET', bk, 'x:mx', fmt(m[1]), 'x:mid', m[2], 'x:mm', m[3])
    for w = 1, NW do
      if m[5] > wm[w] then
        local lg = KEYS[7 + 5 * (w - 1) + 4]
        if m[4] then redis.call('ZREM', lg, m[4]) end
        redis.call('ZADD', lg, fmt(m[1]), m[3])
      end
    end
  end
end
for key, at in pairs(expire) do
  redis.call('PEXPIREAT', key, fmt(at))
end
if #recent > 0 then
  redis.call('ZADD', KEYS[5], unpack(recent))
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -(recentmax + 1))
end
if #acks > 0 and group ~= '' then
  redis.call('XACK', KEYS[1], group, unpack(acks))
end
if applied > 0 then
  redis.call('HINCRBY', KEYS[4], 'applied', applied)
  redis.call('HSET', KEYS[4], 'last_applied_ms', fmt(now))
end
if dups > 0 then redis.call('HINCRBY', KEYS[4], 'duplicates', dups) end
if late > 0 then redis.call('HINCRBY', KEYS[4], 'too_late', late) end
if future > 0 then redis.call('HINCRBY', KEYS[4], 'future', future) end
return {'OK', table.concat(statuses), fmt(now)}
