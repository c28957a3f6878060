-- KEYS: rate
-- ARGV: interval_us max_wait_us not_before_us (0: none)
-- Reserves the next slot of one rate-limit key (reserve_slot in prelude.lua): a late send
-- takes another slot of its account so. Returns the microseconds to wait, or -(wait + 1)
-- when beyond max_wait.
return reserve_slot(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3] or '0'))
