#!lua flags=allow-oom
-- KEYS: campaign status active requeue counts running events parked given_back
-- ARGV: cid idx now lease_until stale lease_ms
-- Gives back a claim whose request was never written: the claim call failed or its answer was
-- lost (a timeout, a dropped connection, Redis paused or full), so the worker does not know
-- whether it applied. Runs even when Redis is out of memory (flags above): it frees as much
-- as it takes.
-- Returns {code, released}: 1 given back (sending -> queued, as before the claim: no attempt
-- counted; the worker may claim it again, or the ticker publishes it again when it has sat
-- `stale` seconds); 2 the claim has not arrived (it may still be on its way, from a
-- connection the client gave up on): given_back now refuses it; 0 nothing to give back (the
-- recipient moved on: another worker's claim, or finished).
local cid, idx, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lease_until = tonumber(ARGV[4])
local s = status_of(KEYS[2], idx)
if s == SENDING and claimed_by(KEYS, idx, lease_until) then
  move(KEYS[2], KEYS[5], idx, SENDING, QUEUED)
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]), idx)
  return {1, {}}
end
if s == QUEUED then
  redis.call('SET', KEYS[9], ARGV[4], 'PX', ARGV[6])
  return {2, {}}
end
return {0, {}}
