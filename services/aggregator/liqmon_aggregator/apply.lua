--[[ apply.lua: verify a folded batch's plan, then store it and XACK, atomically.

Python (fold.py) does the per-event work: it classifies every event against the last known
clock, watermarks and dedup ids (the PLAN) and folds the applied ones into per-key deltas.
This script checks that the plan still holds and then only adds deltas: its work grows with
the distinct fields a batch touches, not with its events. Layout: liqmon.windows.

KEYS
  1 events stream   2 generation pointer   3 watermarks hash   4 stats hash
  5 late-ids set (rebuild only)   6 bucket index zset   then, after the windows' keys,
  the largest events hash (id -> EVENT JSON) at 7 + 5 * number of windows
  7.. for each window i (liqmon.windows.WINDOWS order) the five keys of
      liqmon.windows.window_keys, starting at 7 + 5 * (i - 1)
  then per bucket 4 keys from its `k`: totals hash, coins string, ids hash, caps hash;
  then the series hashes the plan points at.
ARGV
  1 the plan, JSON (integers that may exceed 2^53 are decimal strings):
    g group ("" = no XACK)   gen   cg 1 = refuse (STALE) unless gen is live
    now (-1 = Redis TIME; tests pass a clock)   G bucket ms   W WINDOW_SPEC   F max future ms
    wm [planned watermark per window] (a mismatch fails the plan)
    b [per bucket {n bucket, k KEYS index or 0, late 0|1, hi max ts of its non-future
       events or -1, lo min ts of its future events or -1, i first ARGV index of its ids,
       c id count, p planned "A"/"D" per id, s [sampled slots of applied events],
       t [field, delta, ...] totals, r ARGV index of its coin records (0 = none),
       x [cents, id, EVENT JSON] largest applied event or [] }]
    w [per group of windows {i [window indexes], t [field, delta, ...],
       c [field, delta, ...], l [sym, delta, ...] rank L, s [sym, delta, ...] rank S}]
    s [KEYS index, field, delta, ...] series   e [KEYS index, expire-at ms, ...]
    u [ARGV index of id, KEYS indexes of its 4 series hashes, field, cents, expire-at, ...]
      too-late events that still feed the series (rebuild), deduped by KEYS[5]
    a [stream ids to XACK]
    n [applied, duplicates, too_late, future]
    f [the field names "cap", "x:mx", "x:mid" (liqmon.windows)]
    v the layout version (liqmon.windows.LAYOUT_VERSION), kept in the stats hash
  2.. the ids (raw) and the buckets' coin records (msgpack) the plan points at
RETURNS {"OK", now, "wm,..."} | {"RETRY", now, "wm,...", {per bucket "0"/"1" per id:
  already applied}} (nothing written but lazily initialised watermarks) | {"STALE", live}
INVARIANTS
  * An event in bucket b is in window W iff b > wm[W] when applied; evict.lua subtracts
    whole buckets as it moves wm[W]. So every window == sum of its buckets above wm[W].
  * The plan is applied only if every watermark, every too-late and future verdict and
    every id's applied-or-not status are what Python assumed; ids are stored in the same
    call, with the XACK: an event is counted at most once per generation.
  * Money is integer cents, added with HINCRBY/ZINCRBY from decimal strings (exact).
]]
local plan = cjson.decode(ARGV[1])
if plan.cg == 1 then
  local live = redis.call('GET', KEYS[2]) or '1'
  if live ~= tostring(plan.gen) then return {'STALE', live} end
end
local now = plan.now
if now < 0 then now = server_ms() end
local function fmt(v) return string.format('%d', v) end
local G, maxfut = plan.G, plan.F
local names, spans = {}, {}
for name, span in string.gmatch(plan.W, '([^:,]+):(%d+)') do
  names[#names + 1] = name
  spans[#spans + 1] = tonumber(span)
end
local NW = #names
local now_b = math.floor(now / G)
local wm, ok = {}, #plan.wm == NW
local raw = redis.call('HMGET', KEYS[3], unpack(names))
for i = 1, NW do
  local v = tonumber(raw[i])
  if not v then
    v = now_b - spans[i]
    redis.call('HSET', KEYS[3], names[i], fmt(v))
  end
  wm[i] = v
  if ok and tonumber(plan.wm[i]) ~= v then ok = false end
end

-- verify: too late, future, and which ids are already applied
local limit = now + maxfut
local presence = {}
for j, bk in ipairs(plan.b) do
  local late = bk.n <= wm[NW]
  if (late and 1 or 0) ~= bk.late then ok = false end
  if bk.hi >= 0 and bk.hi > limit then ok = false end
  if bk.lo >= 0 and bk.lo <= limit then ok = false end
  local got = {}
  if bk.c > 0 and not late then
    local ids = {}
    for q = 0, bk.c - 1 do ids[#ids + 1] = ARGV[bk.i + q] end
    local vals = redis.call('HMGET', KEYS[bk.k + 2], unpack(ids))
    for q = 1, bk.c do
      local c = vals[q] and '1' or '0'
      got[q] = c
      if (c == '1') ~= (string.sub(bk.p, q, q) == 'D') then ok = false end
    end
  end
  presence[j] = table.concat(got)
end
local wm_text = {}
for i = 1, NW do wm_text[i] = fmt(wm[i]) end
wm_text = table.concat(wm_text, ',')
if not ok then return {'RETRY', fmt(now), wm_text, presence} end

-- apply: everything below only adds what Python folded
local CAP, XMAX, XID = plan.f[1], plan.f[2], plan.f[3]
local LGE = KEYS[7 + 5 * NW]
local function chunked(cmd, key, head, list, step)
  for s = 1, #list, step do
    local args = {}
    for q = s, math.min(s + step - 1, #list) do args[#args + 1] = list[q] end
    if head then redis.call(cmd, key, head, unpack(args)) else redis.call(cmd, key, unpack(args)) end
  end
end
local function incr_pairs(key, pairs_)
  for q = 1, #pairs_, 2 do redis.call('HINCRBY', key, pairs_[q], pairs_[q + 1]) end
end
for _, bk in ipairs(plan.b) do
  if bk.k > 0 and bk.n > wm[NW] then
    local hk, ck, ik, sk = KEYS[bk.k], KEYS[bk.k + 1], KEYS[bk.k + 2], KEYS[bk.k + 3]
    redis.call('ZADD', KEYS[6], bk.n, bk.n)
    local new_ids = {}
    for q = 1, bk.c do
      if string.sub(bk.p, q, q) == 'A' then
        new_ids[#new_ids + 1] = ARGV[bk.i + q - 1]
        new_ids[#new_ids + 1] = ''
      end
    end
    if #new_ids > 0 then chunked('HSET', ik, false, new_ids, 2000) end
    incr_pairs(hk, bk.t)
    if bk.r > 0 then
      -- GET + SET, not APPEND: a SET string has its exact size, an APPENDed one keeps
      -- up to as much again in spare room
      local old = redis.call('GET', ck)
      redis.call('SET', ck, old and (old .. ARGV[bk.r]) or ARGV[bk.r])
    end
    local capped = 0
    for _, slot in ipairs(bk.s) do capped = capped + redis.call('HSETNX', sk, slot, '') end
    if capped > 0 then
      redis.call('HINCRBY', hk, CAP, capped)
      for w = 1, NW do
        if bk.n > wm[w] then redis.call('HINCRBY', KEYS[7 + 5 * (w - 1)], CAP, capped) end
      end
    end
    local x = bk.x
    if #x == 3 then
      local cur = redis.call('HMGET', hk, XMAX, XID)
      local mx, mid = tonumber(cur[1]) or -1, cur[2] or ''
      local cents = tonumber(x[1])
      if cents > mx or (cents == mx and x[2] > mid) then
        redis.call('HSET', hk, XMAX, x[1], XID, x[2])
        if cur[2] then redis.call('HDEL', LGE, cur[2]) end
        redis.call('HSET', LGE, x[2], x[3])
        for w = 1, NW do
          if bk.n > wm[w] then
            local lg = KEYS[7 + 5 * (w - 1) + 4]
            if cur[2] then redis.call('ZREM', lg, cur[2]) end
            redis.call('ZADD', lg, x[1], x[2])
          end
        end
      end
    end
  end
end
for _, grp in ipairs(plan.w) do
  for _, w in ipairs(grp.i) do
    local base = 7 + 5 * (w - 1)
    incr_pairs(KEYS[base], grp.t)
    incr_pairs(KEYS[base + 1], grp.c)
    for q = 1, #grp.l, 2 do redis.call('ZINCRBY', KEYS[base + 2], grp.l[q + 1], grp.l[q]) end
    for q = 1, #grp.s, 2 do redis.call('ZINCRBY', KEYS[base + 3], grp.s[q + 1], grp.s[q]) end
  end
end
for q = 1, #plan.s, 3 do redis.call('HINCRBY', KEYS[plan.s[q]], plan.s[q + 1], plan.s[q + 2]) end
for q = 1, #plan.e, 2 do redis.call('PEXPIREAT', KEYS[plan.e[q]], plan.e[q + 1]) end
for q = 1, #plan.u, 8 do
  if redis.call('SADD', KEYS[5], ARGV[plan.u[q]]) == 1 then
    for k = 1, 4 do
      local key = KEYS[plan.u[q + k]]
      redis.call('HINCRBY', key, plan.u[q + 5], plan.u[q + 6])
      redis.call('PEXPIREAT', key, plan.u[q + 7])
    end
  end
end
if #plan.a > 0 and plan.g ~= '' then chunked('XACK', KEYS[1], plan.g, plan.a, 2000) end
local n = plan.n
if n[1] > 0 then
  redis.call('HINCRBY', KEYS[4], 'applied', n[1])
  redis.call('HSET', KEYS[4], 'last_applied_ms', fmt(now), 'layout', plan.v)
end
if n[2] > 0 then redis.call('HINCRBY', KEYS[4], 'duplicates', n[2]) end
if n[3] > 0 then redis.call('HINCRBY', KEYS[4], 'too_late', n[3]) end
if n[4] > 0 then redis.call('HINCRBY', KEYS[4], 'future', n[4]) end
return {'OK', fmt(now), wm_text}
