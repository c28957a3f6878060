-- KEYS: campaign status active requeue counts running events parked meta msgbucket msgindex
--       errors by_phone recent, then replies suppression resumes held held_since webhook_stats
-- ARGV: cid idx new now attempted due message_id ref error field stale digest phone
-- Records the outcome of a claimed send and refills the window. Only a recipient in `sending`
-- (or `unknown`, when the late answer is a real outcome) can move; anything else is stale.
local cid, idx, new, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = status_of(KEYS[2], idx)
local late = cur == UNKNOWN and (new == SENT or new == FAILED)
if cur ~= SENDING and not late then return {0, {}} end
if deferred(new) then
  redis.call('ZADD', KEYS[3], tonumber(ARGV[6]), idx)
  if tonumber(ARGV[6]) > now + tonumber(ARGV[11]) then
    redis.call('SADD', KEYS[8], idx)
  end
elseif new == PENDING then
  redis.call('ZREM', KEYS[3], idx)
  redis.call('RPUSH', KEYS[4], idx)
else
  redis.call('ZREM', KEYS[3], idx)
end
move(KEYS[2], KEYS[5], idx, cur, new)
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
  local C = {campaign = KEYS[1], status = KEYS[2], counts = KEYS[5], meta = KEYS[9],
             errors = KEYS[12], replies = KEYS[15]}
  local G = {suppression = KEYS[16], resumes = KEYS[17], held = KEYS[18], since = KEYS[19],
             stats = KEYS[20]}
  release(C, G, ARGV[12], idx, ARGV[13])
end
return {1, refill(KEYS, cid, now, tonumber(ARGV[11]))}
