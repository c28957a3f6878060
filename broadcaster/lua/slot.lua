-- KEYS: rate [campaign]
-- ARGV: interval_us max_wait_us not_before_us (0: none)
-- With a campaign's hash as the second key, nothing is reserved (0 returned) unless it runs:
-- the slot of a shared limit is not spent on a send its claim would put back.
-- Reserves the next slot of one rate-limit key (reserve_slot in prelude.lua): a late send
-- takes another slot of its account so. Returns the microseconds to wait, or -(wait + 1)
-- when beyond max_wait.
if KEYS[2] and redis.call('HGET', KEYS[2], 'state') ~= 'running' then return 0 end
return reserve_slot(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3] or '0'))
