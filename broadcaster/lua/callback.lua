-- KEYS: seen suppression, then one index bucket per status (message ids) and per reply (phones)
-- ARGV: ttl now nstatuses, six key templates as prefix/suffix pairs (campaign status counts
--       meta errors replies), then digest/status/error per status and phone/text/stop per reply
-- One webhook body in one round trip: de-duplication (ttl 0: none), delivery statuses and
-- replies. Statuses only move forward (sent < delivered < read), a failure counts only after a
-- send, and `unknown` learns what really happened. A campaign's keys are found through the
-- indexes, so they are built here from templates that keys.py made.
local ttl, now, nstatuses = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if ttl > 0 and not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ttl) then return {1, 0, 0} end

local function key(n, cid) return ARGV[2 + 2 * n] .. cid .. ARGV[3 + 2 * n] end

local function ref(bucket, field)
  local found = redis.call('HGET', bucket, field)
  if not found then return nil end
  local cid, idx = string.match(found, '^(.*):(%d+)$')
  return cid, tonumber(idx)
end

local function apply(cid, idx, new, err)
  if not redis.call('HGET', key(1, cid), 'total') then return 0 end
  local cur = status_of(key(2, cid), idx)
  local after_send = cur == SENT or cur == DELIVERED or cur == READ or cur == UNKNOWN
  if not after_send then return 0 end
  if new == FAILED then
    if cur == READ then return 0 end
  elseif cur ~= UNKNOWN and new <= cur then
    return 0
  end
  move(key(2, cid), key(3, cid), idx, cur, new)
  redis.call('BITFIELD', key(4, cid), 'SET', 'u32', idx * 40 + 8, math.floor(now))
  if err ~= '' then redis.call('HSET', key(5, cid), idx, err) end
  return 1
end

local applied, replies, a = 0, 0, 16
for i = 1, nstatuses do
  local cid, idx = ref(KEYS[2 + i], ARGV[a])
  if cid then applied = applied + apply(cid, idx, tonumber(ARGV[a + 1]), ARGV[a + 2]) end
  a = a + 3
end
for i = 3 + nstatuses, #KEYS do
  local phone, text, stop = ARGV[a], ARGV[a + 1], ARGV[a + 2] == '1'
  if stop then redis.call('SADD', KEYS[2], phone) end
  local cid, idx = ref(KEYS[i], phone)
  if cid then
    redis.call('HSET', key(6, cid), idx, text)
    redis.call('HINCRBY', key(1, cid), 'replies', 1)
    if stop then redis.call('HINCRBY', key(1, cid), 'opted_out', 1) end
    replies = replies + 1
  end
  a = a + 3
end
return {0, applied, replies}
