-- KEYS: campaign status active requeue counts running events parked suppression recipients_bucket
--       meta errors rate daily zones
-- ARGV: cid idx now stale field interval_us max_wait_us daily_cap daily_due hours closed_until
--       margin
-- The first step of a send, before anything can wait: is the recipient still queued, its
-- campaign running, its number not suppressed, the sender's daily cap not reached? Then reserve
-- the sender's next rate-limit slot (no rate key: none). Nothing is claimed here: a worker that
-- dies or fails from now until its claim leaves the recipient queued, and it is published
-- again; a recipient that will not be sent spends no slot.
-- Returns {code, wait_us, record, attempts, released}: 1 ready (slot reserved, wait_us until
-- it); 0 not queued (a duplicate or stale delivery: drop it); 2 put back (campaign paused);
-- 3 cancelled; 4 skipped (number suppressed since import); 5 paced (no slot within max_wait,
-- or the daily cap reached: waiting in the window for its due time); 6 off hours (outside its
-- sending hours, or too close to their end: waiting for the next opening); 7 expired.
-- `hours` (empty: any time) holds, per timezone number (zones key) + 1, `closes,reopens`
-- separated by `;`: when the open hours end (0: closed now) and when they open next, as the
-- worker read the campaign's calendar. A send starts only `margin` seconds or more before its
-- hours end, and its slot is never further than that (nor past expires_at).
local cid, idx, now, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if status_of(KEYS[2], idx) ~= QUEUED then return {0, 0, false, 0, {}} end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then
  redis.call('ZREM', KEYS[3], idx)
  if state == 'cancelled' then
    move(KEYS[2], KEYS[5], idx, QUEUED, CANCELLED)
    return {3, 0, false, 0, {}}
  end
  move(KEYS[2], KEYS[5], idx, QUEUED, PENDING)
  redis.call('RPUSH', KEYS[4], idx)
  return {2, 0, false, 0, {}}
end
local rec = redis.call('HGET', KEYS[10], ARGV[5])
local phone = string.match(rec or '', '^[^\31]*')
if redis.call('HEXISTS', KEYS[9], phone) == 1 then
  move(KEYS[2], KEYS[5], idx, QUEUED, SKIPPED)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {4, 0, false, 0, refill(KEYS, cid, now, stale)}
end
local max_wait = tonumber(ARGV[7])
local over, left = expired(KEYS, now)
if over then
  move(KEYS[2], KEYS[5], idx, QUEUED, EXPIRED)
  emit_status(KEYS[1], cid, idx, EXPIRED, now)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {7, 0, false, 0, refill(KEYS, cid, now, stale)}
end
if left then max_wait = math.min(max_wait, left * 1000000) end
if ARGV[10] ~= '' then
  local z = string.byte(redis.call('GETRANGE', KEYS[15], idx, idx)) or 0
  local n, closes, reopens = 0, 0, now
  for a, b in string.gmatch(ARGV[10], '([^,;]+),([^;]+)') do
    if n == z then closes, reopens = tonumber(a), tonumber(b) end
    n = n + 1
  end
  local margin = tonumber(ARGV[12])
  if closes - now < margin then
    if tonumber(ARGV[11]) > now then redis.call('HSET', KEYS[1], 'closed_until', ARGV[11]) end
    pace(KEYS, KEYS[11], KEYS[12], idx, reopens, now, stale, '', OFF_HOURS)
    return {6, 0, false, 0, refill(KEYS, cid, now, stale)}
  end
  max_wait = math.min(max_wait, (closes - margin - now) * 1000000)
end
local cap = tonumber(ARGV[8])
if cap > 0 and redis.call('SISMEMBER', KEYS[14], phone) == 0 then
  if redis.call('SCARD', KEYS[14]) >= cap then
    pace(KEYS, KEYS[11], KEYS[12], idx, tonumber(ARGV[9]), now, stale,
         'daily cap of unique recipients reached for this sender')
    return {5, 0, false, 0, refill(KEYS, cid, now, stale)}
  end
  redis.call('SADD', KEYS[14], phone)
  redis.call('EXPIRE', KEYS[14], 172800)
end
local wait = 0
if KEYS[13] ~= '' then
  wait = reserve_slot(KEYS[13], tonumber(ARGV[6]), max_wait)
  if wait < 0 then
    pace(KEYS, KEYS[11], KEYS[12], idx, now + (-wait - 1) / 1000000, now, stale, '')
    return {5, -wait - 1, false, 0, refill(KEYS, cid, now, stale)}
  end
end
local attempts = redis.call('BITFIELD', KEYS[11], 'GET', 'u8', idx * 40)[1]
return {1, wait, rec, attempts, {}}
