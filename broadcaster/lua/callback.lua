-- KEYS: campaign status counts meta errors
-- ARGV: idx new now error
-- A delivery status from Replai: statuses only move forward (sent < delivered < read), a
-- failure counts only after a send, and `unknown` learns what really happened.
local idx, new, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not redis.call('HGET', KEYS[1], 'total') then return 0 end
local cur = status_of(KEYS[2], idx)
local after_send = cur == SENT or cur == 5 or cur == 6 or cur == UNKNOWN
if not after_send then return 0 end
if new == FAILED then
  if cur == 6 then return 0 end
elseif cur ~= UNKNOWN and new <= cur then
  return 0
end
move(KEYS[2], KEYS[3], idx, cur, new)
redis.call('BITFIELD', KEYS[4], 'SET', 'u32', idx * 40 + 8, math.floor(now))
if ARGV[4] ~= '' then redis.call('HSET', KEYS[5], idx, ARGV[4]) end
return 1
