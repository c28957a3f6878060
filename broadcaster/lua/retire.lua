-- KEYS: campaign status active counts campaigns running scheduled
-- ARGV: cid mode now
-- The first step of deleting (mode `delete`) or archiving (mode `archive`) a campaign, once:
-- refused while it runs, is scheduled or has sends in flight (a queued send whose broker
-- message is still within its deadline, or a claimed one within its lease). A deleted
-- campaign leaves the lists at once and loses its `total` (every script and webhook then
-- treats it as gone, so nothing writes its keys again while the store removes them in steps).
-- An archived one keeps listing; `archiving` set makes webhooks count and ignore its callbacks.
-- Returns {'ok', total} (also when the step was already done: the removal resumes) or
-- {'err', message}.
local cid, mode, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local f = redis.call('HMGET', KEYS[1], 'state', 'total', 'deleting', 'archiving', 'archived_at')
if not f[1] then return {'err', 'campaign not found'} end
if f[3] then
  if mode == 'delete' then return {'ok', f[3]} end
  return {'err', 'campaign ' .. cid .. ' is being deleted'}
end
local state = f[1]
if mode == 'archive' then
  if f[4] then return {'ok', f[2]} end
  if state ~= 'completed' and state ~= 'cancelled' then
    return {'err', 'only a completed or cancelled campaign can be archived, not a ' .. state .. ' one'}
  end
elseif state == 'running' or state == 'scheduled' then
  return {'err', 'cannot delete a ' .. state .. ' campaign: pause or cancel it first'}
elseif f[4] and not f[5] then
  return {'err', 'campaign ' .. cid .. ' is being archived: wait for it (or archive it again ' ..
          'to finish an archive cut short), then delete it'}
end
local c = redis.call('HMGET', KEYS[4], 'queued', 'sending')
if tonumber(c[1] or '0') + tonumber(c[2] or '0') > 0 then
  local n = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. now, '+inf', 'LIMIT', 0, 10000)) do
    local s = status_of(KEYS[2], tonumber(m))
    if s == QUEUED or s == SENDING then n = n + 1 end
  end
  if n > 0 then
    return {'err', 'campaign ' .. cid .. ' still has sends in flight (' .. n .. '): wait ' ..
            'until they finish (their leases run out within minutes), then try again'}
  end
end
if mode == 'archive' then
  redis.call('HSET', KEYS[1], 'archiving', now)
  return {'ok', f[2]}
end
redis.call('HSET', KEYS[1], 'deleting', f[2] or '0')
redis.call('HDEL', KEYS[1], 'total')
redis.call('ZREM', KEYS[5], cid)
redis.call('SREM', KEYS[6], cid)
redis.call('ZREM', KEYS[7], cid)
return {'ok', f[2] or '0'}
