-- KEYS: campaign status active requeue counts running events parked suppression recipients_bucket
--       meta
-- ARGV: cid idx now lease_until field stale
-- Returns {code, record, attempts, released}: code 1 claimed (queued -> sending); 0 not queued
-- (a duplicate or stale delivery: drop it); 2 put back (campaign paused); 3 cancelled;
-- 4 skipped (number suppressed since import).
local cid, idx, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local s = status_of(KEYS[2], idx)
if s ~= QUEUED then return {0, false, 0, {}} end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then
  redis.call('ZREM', KEYS[3], idx)
  if state == 'cancelled' then
    move(KEYS[2], KEYS[5], idx, QUEUED, CANCELLED)
    return {3, false, 0, {}}
  end
  move(KEYS[2], KEYS[5], idx, QUEUED, PENDING)
  redis.call('RPUSH', KEYS[4], idx)
  return {2, false, 0, {}}
end
local rec = redis.call('HGET', KEYS[10], ARGV[5])
local phone = string.match(rec or '', '^[^\31]*')
if redis.call('HEXISTS', KEYS[9], phone) == 1 then
  move(KEYS[2], KEYS[5], idx, QUEUED, SKIPPED)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {4, false, 0, refill(KEYS, cid, now, tonumber(ARGV[6]))}
end
move(KEYS[2], KEYS[5], idx, QUEUED, SENDING)
redis.call('ZADD', KEYS[3], tonumber(ARGV[4]), idx)
local attempts = redis.call('BITFIELD', KEYS[11], 'GET', 'u8', idx * 40)[1]
return {1, rec, attempts, {}}
