-- KEYS: the limits' keys, innermost first, the outer one last
-- ARGV: an interval (µs) per key, max_wait_us, slack_us[, lead_us]
-- Reserves nested rate-limit slots (reserve_limits in prelude.lua, which prepare.lua uses too).
-- Returns {code, wait_us, slot_us, index of the key that decided the wait (1-based)}.
local n = #KEYS
local intervals = {}
for i = 1, n do intervals[i] = tonumber(ARGV[i]) end
local code, wait, slot, binding = reserve_limits(KEYS, intervals, tonumber(ARGV[n + 1]),
                                                 tonumber(ARGV[n + 2]), tonumber(ARGV[n + 3]))
return {code, wait, slot, binding}
