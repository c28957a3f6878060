#!lua flags=allow-oom
-- KEYS: campaign status active requeue counts running events parked meta msgbucket msgindex
--       errors by_phone recent, then replies suppression resumes held held_since webhook_stats
-- ARGV: cid idx new now attempted due message_id ref error field stale digest phone lease_until
-- Records the outcome of a claimed send and refills the window. Only the claim that
-- `lease_until` names can be finished; anything else is stale (a late answer for a claim that
-- was given back, or a recipient claimed again since). A recipient the ticker turned `unknown`
-- (its lease ran out) takes the late answer of the request: that worker is the only one that
-- can know what happened.
-- Runs even when Redis is out of memory (flags above): the request has left, its outcome must
-- be kept. Claims (claim.lua) are refused when Redis is full, so this is bounded by the sends
-- in flight.
local cid, idx, new, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = status_of(KEYS[2], idx)
local late = cur == UNKNOWN and new ~= UNKNOWN
if not late and not (cur == SENDING and claimed_by(KEYS, idx, tonumber(ARGV[14]))) then
  return {0, {}}
end
if deferred(new) then
  hold(KEYS, idx, tonumber(ARGV[6]), now, tonumber(ARGV[11]))
elseif new == PENDING then
  redis.call('ZREM', KEYS[3], idx)
  redis.call('RPUSH', KEYS[4], idx)
else
  redis.call('ZREM', KEYS[3], idx)
end
move(KEYS[2], KEYS[5], idx, cur, new)
emit_status(KEYS[1], cid, idx, new, now, ARGV[9], ARGV[7])
if ARGV[5] == '1' then
  redis.call('BITFIELD', KEYS[9], 'OVERFLOW', 'SAT', 'INCRBY', 'u8', idx * 40, 1)
  count_send(KEYS[14], now)
end
redis.call('BITFIELD', KEYS[9], 'SET', 'u32', idx * 40 + 8, math.floor(now))
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[10], ARGV[10], ARGV[7])
  redis.call('HSET', KEYS[11], ARGV[12], ARGV[8])
end
if new == SENT and ARGV[13] ~= '' then
  redis.call('HSET', KEYS[13], ARGV[13], ARGV[8])
end
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[12], idx, ARGV[9])
elseif new == SENT then
  redis.call('HDEL', KEYS[12], idx)
end
-- Callbacks for this message that beat this step to Redis were held (receipts.lua): they are
-- applied now, in the same step, so the recipient ends as the provider reported.
if ARGV[7] ~= '' and redis.call('HEXISTS', KEYS[18], ARGV[12]) == 1 then
  local C = {cid = cid, campaign = KEYS[1], status = KEYS[2], counts = KEYS[5], meta = KEYS[9],
             errors = KEYS[12], replies = KEYS[15]}
  local G = {suppression = KEYS[16], resumes = KEYS[17], held = KEYS[18], since = KEYS[19],
             stats = KEYS[20]}
  release(C, G, ARGV[12], idx, ARGV[13])
end
return {1, refill(KEYS, cid, now, tonumber(ARGV[11]))}
