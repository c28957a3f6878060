-- KEYS: rate
-- ARGV: interval_us max_wait_us
-- Reserves a sender's next rate-limit slot (reserve_slot in prelude.lua, which prepare.lua
-- uses too): returns the microseconds to wait, or -(wait + 1) when beyond max_wait.
return reserve_slot(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
