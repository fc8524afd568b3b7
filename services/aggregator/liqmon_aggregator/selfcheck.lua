#!lua flags=no-writes
--[[ selfcheck.lua: recount one window from its buckets and compare (read only).

KEYS  1 watermarks hash   2 window totals hash   3 window coin hash
      4.. bucket hashes for buckets first .. first+count-1 (must reach past the newest
      bucket that can hold events: now + max future)
ARGV  1 window name   2 first bucket   3 count
RETURNS {drift_cents, drift_other, buckets recounted}: drift_cents sums |window - recount|
  over the USD fields (L, S, <ex>:L, <ex>:S, <sym>:L, <sym>:S); drift_other over counts,
  capped slots and price limbs. Both must be 0 (the invariant of apply.lua/evict.lua).
]]
local wm = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
local first, count = tonumber(ARGV[2]), tonumber(ARGV[3])
if not wm then return {0, 0, 0} end
if first > wm + 1 then return redis.error_reply('selfcheck: gap after watermark') end
local rw, rc, seen = {}, {}, 0
for b = math.max(first, wm + 1), first + count - 1 do
  local flat = redis.call('HGETALL', KEYS[4 + b - first])
  if #flat > 0 then seen = seen + 1 end
  for j = 1, #flat, 2 do
    local f, v = flat[j], tonumber(flat[j + 1])
    local pre = string.sub(f, 1, 2)
    if pre == 'c:' then
      local cf = string.sub(f, 3)
      rc[cf] = (rc[cf] or 0) + v
    elseif pre ~= 'x:' then
      rw[f] = (rw[f] or 0) + v
    end
  end
end
local cents, other = 0, 0
local function compare(key, recount)
  local flat = redis.call('HGETALL', key)
  local stored = {}
  for j = 1, #flat, 2 do stored[flat[j]] = tonumber(flat[j + 1]) end
  local fields = {}
  for f in pairs(stored) do fields[f] = true end
  for f in pairs(recount) do fields[f] = true end
  for f in pairs(fields) do
    local d = math.abs((stored[f] or 0) - (recount[f] or 0))
    local tail = string.sub(f, -1)
    if tail == 'L' or tail == 'S' then cents = cents + d else other = other + d end
  end
end
compare(KEYS[2], rw)
compare(KEYS[3], rc)
return {string.format('%d', cents), string.format('%d', other), seen}
