-- KEYS: campaign status active requeue counts running events parked errors meta
-- ARGV: cid now stale limit
-- Acts on recipients whose deadline passed: republishes stale `queued` ones (harmless: claims
-- are idempotent), releases `waiting` and `paced` ones whose time is due (those back from a long wait go
-- to the front of the requeue list, so the window bounds them too), and turns `sending` ones whose
-- lease expired (their worker died mid-send) into `unknown`, with the time of that change.
-- Then refills the window. Once the campaign's expires_at has passed, it expires every
-- recipient not sent instead (expire_all).
local cid, now, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return {} end

-- A send whose lease ran out: its worker died mid-request.
local function lost(i)
  move(KEYS[2], KEYS[5], i, SENDING, UNKNOWN)
  redis.call('ZREM', KEYS[3], i)
  redis.call('HSET', KEYS[9], i, 'worker lost during the send: outcome unknown')
  emit_status(KEYS[1], cid, i, UNKNOWN, now, 'worker lost during the send', '')
  redis.call('BITFIELD', KEYS[10], 'SET', 'u32', i * 40 + 8, math.floor(now))
end

local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
if expired(KEYS, now) then
  expire_all(KEYS, KEYS[10], cid, now)
  -- only sends in flight are left; one whose worker died must not hold the campaign open
  for _, m in ipairs(due) do
    if status_of(KEYS[2], tonumber(m)) == SENDING then lost(tonumber(m)) end
  end
  return refill(KEYS, cid, now, stale)
end
local out = {}
for _, m in ipairs(due) do
  local i = tonumber(m)
  local s = status_of(KEYS[2], i)
  if deferred(s) and redis.call('SREM', KEYS[8], i) == 1 then
    -- back from a long wait: first in line for the window, but only as it has room
    move(KEYS[2], KEYS[5], i, s, PENDING)
    redis.call('ZREM', KEYS[3], i)
    redis.call('RPUSH', KEYS[4], i)
  elseif s == QUEUED or deferred(s) then
    if s ~= QUEUED then move(KEYS[2], KEYS[5], i, s, QUEUED) end
    redis.call('ZADD', KEYS[3], now + stale, i)
    out[#out + 1] = i
  elseif s == SENDING then
    lost(i)
  else
    redis.call('ZREM', KEYS[3], i)
  end
end
for _, i in ipairs(refill(KEYS, cid, now, stale)) do out[#out + 1] = i end
return out
