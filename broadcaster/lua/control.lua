-- KEYS: campaign status active requeue counts running events parked scheduled
-- ARGV: cid action now stale [reason | status byte] [what the operator asked, for messages]
-- Campaign lifecycle, atomically: start, pause, resume, cancel, requeue (retry failed / resend
-- unknown). Returns {'ok', released indexes, n} or {'err', message}.
local cid, action, now, stale = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'err', 'campaign not found'} end
local asked = ARGV[6] or action
if asked == '' then asked = action end
local function bad() return {'err', 'cannot ' .. asked .. ' a ' .. state .. ' campaign'} end

if action == 'start' then
  if state ~= 'draft' and state ~= 'scheduled' then return bad() end
  local send_at = tonumber(redis.call('HGET', KEYS[1], 'send_at') or '0')
  if send_at > now then
    redis.call('HSET', KEYS[1], 'state', 'scheduled')
    redis.call('ZADD', KEYS[9], send_at, cid)
    if state == 'draft' then event(KEYS[7], now, 'scheduled', {send_at = send_at}) end
    return {'ok', {}, 0}
  end
  redis.call('ZREM', KEYS[9], cid)
  redis.call('HSET', KEYS[1], 'state', 'running', 'started_at', now)
  redis.call('SADD', KEYS[6], cid)
  event(KEYS[7], now, 'started')
  emit(KEYS[1], cid, 'campaign.started', nil, now, nil)
  return {'ok', refill(KEYS, cid, now, stale), 0}
elseif action == 'pause' then
  if state ~= 'running' and state ~= 'scheduled' then return bad() end
  redis.call('HSET', KEYS[1], 'state', 'paused', 'reason', ARGV[5] or '')
  redis.call('SREM', KEYS[6], cid)
  redis.call('ZREM', KEYS[9], cid)
  event(KEYS[7], now, 'paused', {reason = ARGV[5]})
  emit(KEYS[1], cid, 'campaign.paused', nil, now, {reason = ARGV[5] or ''})
  return {'ok', {}, 0}
elseif action == 'resume' then
  if state ~= 'paused' then return bad() end
  redis.call('HSET', KEYS[1], 'state', 'running', 'reason', '')
  redis.call('HSETNX', KEYS[1], 'started_at', now)
  redis.call('SADD', KEYS[6], cid)
  event(KEYS[7], now, 'resumed')
  emit(KEYS[1], cid, 'campaign.resumed', nil, now, nil)
  return {'ok', refill(KEYS, cid, now, stale), 0}
elseif action == 'cancel' then
  if state == 'cancelled' or state == 'completed' then return bad() end
  redis.call('HSET', KEYS[1], 'state', 'cancelled')
  redis.call('SREM', KEYS[6], cid)
  redis.call('ZREM', KEYS[9], cid)
  local c = redis.call('HMGET', KEYS[1], 'cursor', 'total')
  local cursor, total = tonumber(c[1] or '0'), tonumber(c[2])
  local n = total - cursor
  if n > 0 then
    redis.call('SETRANGE', KEYS[2], cursor, string.rep(string.char(CANCELLED), n))
    redis.call('HINCRBY', KEYS[5], 'pending', -n)
    redis.call('HINCRBY', KEYS[5], 'cancelled', n)
    redis.call('HSET', KEYS[1], 'cursor', total)
  end
  for _, m in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
    local i = tonumber(m)
    if status_of(KEYS[2], i) == PENDING then move(KEYS[2], KEYS[5], i, PENDING, CANCELLED); n = n + 1 end
  end
  redis.call('DEL', KEYS[4])
  for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    local i = tonumber(m)
    local s = status_of(KEYS[2], i)
    if s == QUEUED or deferred(s) then
      move(KEYS[2], KEYS[5], i, s, CANCELLED)
      redis.call('ZREM', KEYS[3], i)
      n = n + 1
    end
  end
  redis.call('DEL', KEYS[8])
  redis.call('HSET', KEYS[1], 'finished_at', now)
  event(KEYS[7], now, 'cancelled', {recipients = n})
  emit(KEYS[1], cid, 'campaign.cancelled', nil, now, nil)
  return {'ok', {}, n}
elseif action == 'requeue' then
  if state == 'cancelled' or state == 'draft' then return bad() end
  local code = tonumber(ARGV[5])
  local st = redis.call('GET', KEYS[2]) or ''
  local ch, pos, n = string.char(code), 1, 0
  while true do
    local i = string.find(st, ch, pos, true)
    if not i then break end
    move(KEYS[2], KEYS[5], i - 1, code, PENDING)
    redis.call('RPUSH', KEYS[4], i - 1)
    n = n + 1
    pos = i + 1
  end
  if n > 0 and state == 'completed' then
    redis.call('HSET', KEYS[1], 'state', 'running', 'finished_at', '')
    redis.call('SADD', KEYS[6], cid)
  end
  event(KEYS[7], now, 'requeued', {status = LABELS[code], recipients = n})
  return {'ok', refill(KEYS, cid, now, stale), n}
end
return {'err', 'unknown action ' .. action}
