-- KEYS: one index bucket per entry (message-id or phone index)
-- ARGV: field, expected value, per entry
-- Removes index entries that still point where the caller says (`campaign_id:index`): an entry
-- a newer campaign has taken over since is kept. Returns how many were removed.
local n = 0
for i = 1, #KEYS do
  if redis.call('HGET', KEYS[i], ARGV[2 * i - 1]) == ARGV[2 * i] then
    n = n + redis.call('HDEL', KEYS[i], ARGV[2 * i - 1])
  end
end
return n
