--[[ delivery.lua: the per-(alert, channel) delivery claim, and settling an outbox entry.

KEYS
  1 sent/claim string of (channel, alert)   2 the channel's outbox stream
  3 the channel's state hash                4 the alerter dead-letter stream
ARGV
  1 op: claim | extend | release | retry | sent | dead
  2 owner ("<consumer>/<instance>")   3 consumer name   4 lease ms
  5 outbox entry id   6 group   7 reason (retry/dead)   8 alert id   9 claim ttl ms
  10 channel name     11 dead-letter maxlen
RETURNS
  claim: "go" (ours), "takeover" (a previous owner may have sent it: the one documented
         repeat), "busy" (another live owner holds the lease), "done" (already sent or
         dead-lettered: the entry is acked and deleted)
  extend: "ok" | "lost";  release, retry, sent, dead: "ok"
INVARIANTS
  * The claim value is `sending|<owner>|<lease until ms>`, then `sent|<ms>` or
    `dead|<ms>|<reason>`; once sent or dead it never goes back, so no owner, replica or
    restart sends the alert to this channel again while the key lives (ttl: 48 h).
  * A lease is taken over only when it expired, or when its owner is an earlier instance
    of the same consumer name (names are leased to one live process: that one is dead).
  * Settling (sent/dead) acks and deletes the outbox entry in the same step.
]]
local op, owner, consumer = ARGV[1], ARGV[2], ARGV[3]
local now = server_ms()  -- liqmon.scripts' prelude: Redis TIME in ms
local lease_until = string.format('%.0f', now + tonumber(ARGV[4]))
local ttl = ARGV[9]

local function settle()
  redis.call('XACK', KEYS[2], ARGV[6], ARGV[5])
  redis.call('XDEL', KEYS[2], ARGV[5])
end
local function parse(value)
  local a, b, c = string.match(value, '^([^|]*)|([^|]*)|?(.*)$')
  return a, b, c
end

local cur = redis.call('GET', KEYS[1])
if op == 'claim' then
  if not cur then
    redis.call('SET', KEYS[1], 'sending|' .. owner .. '|' .. lease_until, 'PX', ttl)
    return 'go'
  end
  local state, who, untl = parse(cur)
  if state == 'sent' or state == 'dead' then
    settle()
    return 'done'
  end
  if who == owner then
    redis.call('SET', KEYS[1], 'sending|' .. owner .. '|' .. lease_until, 'PX', ttl)
    return 'go'
  end
  local who_consumer = string.match(who or '', '^(.*)/[^/]*$')
  if who_consumer == consumer or (tonumber(untl) or 0) < now then
    redis.call('SET', KEYS[1], 'sending|' .. owner .. '|' .. lease_until, 'PX', ttl)
    redis.call('HINCRBY', KEYS[3], 'takeovers', 1)
    return 'takeover'
  end
  return 'busy'
elseif op == 'extend' then
  if cur and select(2, parse(cur)) == owner then
    redis.call('SET', KEYS[1], 'sending|' .. owner .. '|' .. lease_until, 'PX', ttl)
    return 'ok'
  end
  return 'lost'
elseif op == 'release' then
  if cur and select(2, parse(cur)) == owner then redis.call('DEL', KEYS[1]) end
  return 'ok'
elseif op == 'retry' then
  redis.call('HINCRBY', KEYS[3], 'retries', 1)
  redis.call('HSET', KEYS[3], 'state', 'retrying', 'last_error', ARGV[7],
    'last_attempt_ms', string.format('%.0f', now))
  return 'ok'
elseif op == 'sent' then
  redis.call('SET', KEYS[1], 'sent|' .. string.format('%.0f', now), 'PX', ttl)
  settle()
  redis.call('HINCRBY', KEYS[3], 'sent', 1)
  redis.call('HSET', KEYS[3], 'state', 'ok', 'last_sent_ms', string.format('%.0f', now),
    'last_attempt_ms', string.format('%.0f', now))
  return 'ok'
elseif op == 'dead' then
  redis.call('SET', KEYS[1], 'dead|' .. string.format('%.0f', now) .. '|' .. ARGV[7], 'PX', ttl)
  settle()
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[11], '*', 'channel', ARGV[10],
    'alert', ARGV[8], 'reason', ARGV[7], 'ts', string.format('%.0f', now))
  redis.call('HINCRBY', KEYS[3], 'deadlettered', 1)
  redis.call('HSET', KEYS[3], 'state', 'failing', 'last_error', ARGV[7],
    'last_attempt_ms', string.format('%.0f', now))
  return 'ok'
end
return redis.error_reply('delivery: unknown op ' .. tostring(op))
