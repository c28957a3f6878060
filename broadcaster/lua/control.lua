-- KEYS: campaign status active requeue counts running events parked scheduled expiring meta
-- ARGV: cid action now stale [reason | status byte] [what the operator asked, for messages]
-- Campaign lifecycle, atomically: start, pause, resume, cancel, requeue (retry failed / resend
-- unknown), expire (the ticker's, for a paused campaign whose expires_at passed). Returns
-- {'ok', released indexes, n} or {'err', message}.
local cid, action, now, stale = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HGET', KEYS[1], 'state')
if action == 'expire' and state ~= 'paused' then  -- resumed, cancelled or deleted meanwhile
  redis.call('ZREM', KEYS[10], cid)
  return {'ok', {}, 0}
end
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
  local ends = tonumber(redis.call('HGET', KEYS[1], 'expires_at') or '')
  if ends then redis.call('ZADD', KEYS[10], ends, cid) end  -- it expires while paused too
  event(KEYS[7], now, 'paused', {reason = ARGV[5]})
  emit(KEYS[1], cid, 'campaign.paused', nil, now, {reason = ARGV[5] or ''})
  return {'ok', {}, 0}
elseif action == 'resume' then
  if state ~= 'paused' then return bad() end
  redis.call('HSET', KEYS[1], 'state', 'running', 'reason', '')
  redis.call('HSETNX', KEYS[1], 'started_at', now)
  redis.call('ZREM', KEYS[10], cid)
  redis.call('SADD', KEYS[6], cid)
  event(KEYS[7], now, 'resumed')
  emit(KEYS[1], cid, 'campaign.resumed', nil, now, nil)
  return {'ok', refill(KEYS, cid, now, stale), 0}
elseif action == 'cancel' then
  if state == 'cancelled' or state == 'completed' then return bad() end
  redis.call('HSET', KEYS[1], 'state', 'cancelled')
  redis.call('SREM', KEYS[6], cid)
  redis.call('ZREM', KEYS[9], cid)
  redis.call('ZREM', KEYS[10], cid)
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
elseif action == 'expire' then
  -- paused past its expires_at: what was not sent expires as in a running campaign's tick,
  -- and the campaign completes (it runs again only until the outcome of a send in flight when
  -- it was paused is recorded: nothing is left to send). Its reason keeps the pause's.
  if not expired(KEYS, now) then return {'ok', {}, 0} end
  redis.call('ZREM', KEYS[10], cid)
  local n = expire_all(KEYS, KEYS[11], cid, now)
  local why = redis.call('HGET', KEYS[1], 'reason') or ''
  if why ~= '' then why = ' (paused: ' .. why .. ')' end
  redis.call('HSET', KEYS[1], 'state', 'running', 'reason', 'expired while paused' .. why)
  redis.call('HSETNX', KEYS[1], 'started_at', now)
  redis.call('SADD', KEYS[6], cid)
  return {'ok', refill(KEYS, cid, now, stale), n}
end
return {'err', 'unknown action ' .. action}
