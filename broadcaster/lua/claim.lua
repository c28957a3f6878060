-- KEYS: campaign status active requeue counts running events parked suppression given_back
--       meta
-- ARGV: cid idx now lease_until stale phone
-- Claims a queued recipient for its send (queued -> sending), the last step before the
-- request: the worker has its rate-limit slot and its message ready, so a claim is only ever
-- held while a request is about to leave or in flight. `lease_until` (chosen by the worker)
-- names the claim: the same call repeated (its reply was lost and the client sent it again)
-- finds its own claim and succeeds again; a claim given back before it arrived (given_back
-- holds its lease_until, see release.lua) is refused. The campaign's state and the
-- suppression list are read again here, at the last moment.
-- Returns {code, released}: 1 claimed; 0 not queued (taken, finished or given back: drop it);
-- 2 put back (campaign paused); 3 cancelled; 4 skipped (number suppressed meanwhile);
-- 5 expired (the campaign's expires_at passed).
local cid, idx, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lease_until = tonumber(ARGV[4])
local s = status_of(KEYS[2], idx)
if s == SENDING and claimed_by(KEYS, idx, lease_until) then return {1, {}} end
if s ~= QUEUED then return {0, {}} end
if tonumber(redis.call('GET', KEYS[10]) or '0') == lease_until then return {0, {}} end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then
  redis.call('ZREM', KEYS[3], idx)
  if state == 'cancelled' then
    move(KEYS[2], KEYS[5], idx, QUEUED, CANCELLED)
    return {3, {}}
  end
  move(KEYS[2], KEYS[5], idx, QUEUED, PENDING)
  redis.call('RPUSH', KEYS[4], idx)
  return {2, {}}
end
if expired(KEYS, now) then  -- its validity ended while it waited for its slot
  move(KEYS[2], KEYS[5], idx, QUEUED, EXPIRED)
  emit_status(KEYS[1], cid, idx, EXPIRED, now)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {5, refill(KEYS, cid, now, tonumber(ARGV[5]))}
end
if redis.call('HEXISTS', KEYS[9], ARGV[6]) == 1 then
  move(KEYS[2], KEYS[5], idx, QUEUED, SKIPPED)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {4, refill(KEYS, cid, now, tonumber(ARGV[5]))}
end
move(KEYS[2], KEYS[5], idx, QUEUED, SENDING)
redis.call('ZADD', KEYS[3], lease_until, idx)
return {1, {}}
