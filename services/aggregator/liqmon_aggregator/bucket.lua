-- bucket.lua: read one bucket back (included in evict.lua and selfcheck.lua by the loader).
-- Layout: liqmon.windows. A bucket is a totals hash (fields whose name starts with the
-- non-sum prefix "x:" are not sums) and a string of msgpack coin records
-- [symbol, side, cents, count, p0, p1, p2, p3] (trailing zero limbs left out).
-- for_each_sum(totals_key, coins_key, xpre, fn) calls fn(kind, field, value, symbol, side)
-- with kind "t" (a totals field) or "c" (a window coin-hash field: `<sym>:<side>`,
-- `<sym>:<side>n`, `<sym>:<side>p<i>`); returns whether the bucket had any totals.
-- A totals value comes as Redis's decimal text (it may pass 2^53, where a double rounds:
-- 901 events of $1e11 in one bucket); a record value as a number (fold.py keeps every
-- record value at most 2^52, so a double holds it exactly).
local function for_each_sum(totals_key, coins_key, xpre, fn)
  local flat = redis.call('HGETALL', totals_key)
  for q = 1, #flat, 2 do
    local f = flat[q]
    if string.sub(f, 1, #xpre) ~= xpre then fn('t', f, flat[q + 1]) end
  end
  local blob = redis.call('GET', coins_key)
  local off = blob and #blob > 0 and 0 or -1
  while off >= 0 do
    local rec
    off, rec = cmsgpack.unpack_one(blob, off)
    local base = rec[1] .. ':' .. rec[2]
    fn('c', base, rec[3], rec[1], rec[2])
    fn('c', base .. 'n', rec[4])
    for q = 5, #rec do fn('c', base .. 'p' .. (q - 5), rec[q]) end
  end
  return #flat > 0
end
