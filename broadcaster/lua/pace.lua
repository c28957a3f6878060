-- KEYS: campaign status active requeue counts running events parked meta errors
-- ARGV: cid idx now due stale
-- A queued recipient goes back to wait until `due` (queued -> paced): its worker could not use
-- a rate-limit slot in time (it woke late, again and again). Nothing was claimed or attempted.
-- Returns 1, or 0 when the recipient is not queued any more.
local idx, now = tonumber(ARGV[2]), tonumber(ARGV[3])
if status_of(KEYS[2], idx) ~= QUEUED then return 0 end
pace(KEYS, KEYS[9], KEYS[10], idx, tonumber(ARGV[4]), now, tonumber(ARGV[5]), '')
return 1
