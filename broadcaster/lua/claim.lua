-- KEYS: campaign status active requeue counts running events parked suppression given_back
--       meta, then (optional) the send's rate-limit keys (innermost first, the account's last)
-- ARGV: cid idx now lease_until stale phone late back_us, then an interval_us per rate-limit
--       key
-- Claims a queued recipient for its send (queued -> sending), the last step before the
-- request: the worker has its rate-limit slot and its message ready, so a claim is only ever
-- held while a request is about to leave or in flight. `lease_until` (chosen by the worker)
-- names the claim: the same call repeated (its reply was lost and the client sent it again)
-- finds its own claim and succeeds again; a claim given back before it arrived (given_back
-- holds its lease_until, see release.lua) is refused. The campaign's state and the
-- suppression list are read again here, at the last moment.
-- Returns {code, released}: 1 claimed; 0 not queued (taken, finished or given back: drop it);
-- 2 put back (campaign paused); 3 cancelled; 4 skipped (number suppressed meanwhile);
-- 5 expired (the campaign's expires_at passed); 6 late (`late` 1: the worker is already past
-- its slot's tolerance, and its limits are busy: nothing claimed, it takes another slot).
-- With rate-limit keys, a claim whose limits are all idle now (every key's next slot has come)
-- takes a fresh slot of each at Redis's now (less `back_us`, half the worker's round trip: see
-- take_if_idle in prelude.lua), as a reservation at this instant would: the send
-- leaves on that slot, however late it is for the one `prepare` reserved (fresh: 1), so a
-- worker behind its slot (the CPUs busy) needs no other round trip to take another.
-- Returns {code, released, fresh}.
local cid, idx, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lease_until = tonumber(ARGV[4])
local s = status_of(KEYS[2], idx)
if s == SENDING and claimed_by(KEYS, idx, lease_until) then return {1, {}, 0} end
if s ~= QUEUED then return {0, {}, 0} end
if tonumber(redis.call('GET', KEYS[10]) or '0') == lease_until then return {0, {}, 0} end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then
  redis.call('ZREM', KEYS[3], idx)
  if state == 'cancelled' then
    move(KEYS[2], KEYS[5], idx, QUEUED, CANCELLED)
    return {3, {}, 0}
  end
  move(KEYS[2], KEYS[5], idx, QUEUED, PENDING)
  redis.call('RPUSH', KEYS[4], idx)
  return {2, {}, 0}
end
if expired(KEYS, now) then  -- its validity ended while it waited for its slot
  move(KEYS[2], KEYS[5], idx, QUEUED, EXPIRED)
  emit_status(KEYS[1], cid, idx, EXPIRED, now)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {5, refill(KEYS, cid, now, tonumber(ARGV[5])), 0}
end
if redis.call('HEXISTS', KEYS[9], ARGV[6]) == 1 then
  move(KEYS[2], KEYS[5], idx, QUEUED, SKIPPED)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {4, refill(KEYS, cid, now, tonumber(ARGV[5])), 0}
end
local fresh = 0
if #KEYS > 11 then
  local limits, intervals = {}, {}
  for i = 12, #KEYS do
    limits[#limits + 1] = KEYS[i]
    intervals[#intervals + 1] = tonumber(ARGV[i - 3])
  end
  if take_if_idle(limits, intervals, tonumber(ARGV[8])) then fresh = 1
  elseif ARGV[7] == '1' then return {6, {}, 0} end
end
move(KEYS[2], KEYS[5], idx, QUEUED, SENDING)
redis.call('ZADD', KEYS[3], lease_until, idx)
return {1, {}, fresh}
