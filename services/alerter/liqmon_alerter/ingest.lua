--[[ ingest.lua: judge one event against the rules that match it, fire alerts, XACK — atomically.

KEYS
  1 events stream            2 seen set of the event's event-time minute
  3 alerts stream (public)   4 alerter stats hash
  5 .. 4+C  the outbox stream of each channel (rules-file order)
  then one cascade hash per cascade (rule, key) the event feeds (ARGV[3].cascades[i].key)
ARGV
  1 consumer group   2 stream id of the entry   3 JSON:
    max_age, future (ms); seen_expire_at (ms, absolute); alerts_maxlen;
    ev = {id, ts (ms), cents, json (EVENT JSON)};
    large = [{fields = flat alert fields, "fired_at" value at index 12, outboxes = [KEYS idx]}];
    cascades = [{key = KEYS idx, w = window s, min = cents, cooldown = ms, ttl = ms,
                 rule, ckey (key text), outboxes, head = {v, rule, kind, channels},
                 tail = {coin, scope, side, window, window_s}}]
RETURNS {status, fired}: status S stale, F future, D duplicate, A applied; every one is acked.
INVARIANTS
  * "Now" is Redis TIME, the same clock for every replica. An event older than max_age or
    more than `future` ahead never alerts and never feeds a cascade window.
  * An event id is judged once: SADD on its event-time minute's set, which lives until
    every event of that minute is stale; a redelivery, a duplicate or a replay is a no-op.
  * Cascade windows are per-second buckets of EVENT time; `now` of a key is the newest
    second seen for it; window = seconds (now - w, now]. `sum`/`cnt` are kept exact in
    integer cents by adding on arrival and subtracting whole buckets as `now` moves.
  * An episode: `active` is set when the sum reaches `min` (and the alert fires, if
    `cooldown` ms of event time passed since the last fire); cleared when the sum is seen
    below `min`. So one alert per episode, and its id (rule, key, start) is fixed here.
  * Alert entries, outbox entries and the XACK happen in this one script: a crash leaves
    either all of them or none (the entry is then re-delivered and judged anew).
  * Numbers are written with %.0f (Lua's tostring would switch to exponents above 1e14).
]]
local group, sid = ARGV[1], ARGV[2]
local p = cjson.decode(ARGV[3])
local now = server_ms()  -- liqmon.scripts' prelude: Redis TIME in ms
local ev = p.ev
local function fmt(n) return string.format('%.0f', n) end
local function done(status, fired)
  redis.call('XACK', KEYS[1], group, sid)
  return {status, fired}
end

if now - ev.ts > p.max_age then
  redis.call('HINCRBY', KEYS[4], 'stale', 1)
  return done('S', 0)
end
if ev.ts - now > p.future then
  redis.call('HINCRBY', KEYS[4], 'future', 1)
  return done('F', 0)
end
if redis.call('SADD', KEYS[2], ev.id) == 0 then
  redis.call('HINCRBY', KEYS[4], 'duplicates', 1)
  return done('D', 0)
end
redis.call('PEXPIREAT', KEYS[2], p.seen_expire_at)
redis.call('HINCRBY', KEYS[4], 'matched', 1)

local fired = 0
local function fire(fields, outboxes)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', p.alerts_maxlen, '*', unpack(fields))
  for _, i in ipairs(outboxes) do
    redis.call('XADD', KEYS[i], '*', unpack(fields))
  end
  fired = fired + 1
end

for _, a in ipairs(p.large) do
  local fields = a.fields
  if fields[11] ~= 'fired_at' then return redis.error_reply('ingest: fired_at not at 11') end
  fields[12] = fmt(now)
  fire(fields, a.outboxes)
end

local sec = math.floor(ev.ts / 1000)
for _, c in ipairs(p.cascades) do
  local H, W = KEYS[c.key], c.w
  local st = redis.call('HMGET', H, 'now', 'sum', 'cnt', 'active', 'last_fire')
  local cur = tonumber(st[1]) or sec
  local sum, cnt = tonumber(st[2]) or 0, tonumber(st[3]) or 0
  local active = st[4] == '1'
  local last_fire = tonumber(st[5] or '')
  if sec > cur then  -- event time moves on: whole buckets leave the window
    if sec - cur >= W then
      local drop = {}
      for _, f in ipairs(redis.call('HKEYS', H)) do
        if string.sub(f, 2, 2) == ':' then drop[#drop + 1] = f end
      end
      for i = 1, #drop, 1000 do
        redis.call('HDEL', H, unpack(drop, i, math.min(i + 999, #drop)))
      end
      sum, cnt = 0, 0
    else
      for s = cur - W + 1, sec - W do
        local b = redis.call('HMGET', H, 's:' .. fmt(s), 'n:' .. fmt(s))
        if b[1] then
          sum, cnt = sum - tonumber(b[1]), cnt - tonumber(b[2])
          redis.call('HDEL', H, 's:' .. fmt(s), 'n:' .. fmt(s), 'm:' .. fmt(s), 'e:' .. fmt(s))
        end
      end
    end
    cur = sec
  end
  if active and sum < c.min then active = false end  -- the episode is over
  local added = sec > cur - W
  if added then
    local b = fmt(sec)
    redis.call('HINCRBY', H, 's:' .. b, fmt(ev.cents))
    redis.call('HINCRBY', H, 'n:' .. b, 1)
    if ev.cents > tonumber(redis.call('HGET', H, 'm:' .. b) or '0') then
      redis.call('HSET', H, 'm:' .. b, fmt(ev.cents), 'e:' .. b, ev.json)
    end
    sum, cnt = sum + ev.cents, cnt + 1
  else
    redis.call('HINCRBY', KEYS[4], 'cascade_late', 1)
  end
  -- only an event that entered the window can start an episode (a late one changed nothing)
  if added and sum >= c.min and not active
      and (last_fire == nil or ev.ts - last_fire >= c.cooldown) then
    active, last_fire = true, ev.ts
    local best, best_sec = -1, nil
    local all = redis.call('HGETALL', H)
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 'm:' then
        local s, v = tonumber(string.sub(all[i], 3)), tonumber(all[i + 1])
        if s > cur - W and v > best then best, best_sec = v, s end
      end
    end
    local largest = best_sec and redis.call('HGET', H, 'e:' .. fmt(best_sec)) or ''
    local id = string.sub(redis.sha1hex('cascade|' .. c.rule .. '|' .. c.ckey .. '|' .. fmt(ev.ts)), 1, 32)
    local h, tl = c.head, c.tail
    fire({
      'v', h[1], 'id', id, 'rule', h[2], 'kind', h[3], 'channels', h[4],
      'fired_at', fmt(now), 'ts', fmt(ev.ts),
      'coin', tl[1], 'scope', tl[2], 'side', tl[3], 'window', tl[4], 'window_s', tl[5],
      'start_ts', fmt((cur - W + 1) * 1000), 'end_ts', fmt((cur + 1) * 1000 - 1),
      'total_cents', fmt(sum), 'count', fmt(cnt), 'largest', largest,
    }, c.outboxes)
  end
  redis.call('HSET', H, 'now', fmt(cur), 'sum', fmt(sum), 'cnt', fmt(cnt),
    'active', active and '1' or '0', 'last_fire', last_fire and fmt(last_fire) or '')
  redis.call('PEXPIRE', H, c.ttl)
end
if fired > 0 then redis.call('HINCRBY', KEYS[4], 'fired', fired) end
return done('A', fired)
