-- KEYS: campaign status active requeue counts running events parked suppression recipients_bucket
--       meta errors daily sharing share_caps zones, then the send's rate-limit keys (innermost
--       first, the account's last)
-- ARGV: cid idx now stale field max_wait_us daily_cap daily_due slack_us share_ttl
--       own_interval_us hours closed_until margin lead_us (no slot sooner: reserve_limits in
--       prelude.lua), then an interval_us per rate-limit key (0: the campaign's fair share of
--       the account, fair_interval in prelude.lua)
-- The first step of a send, before anything can wait: is the recipient still queued, its
-- campaign running and not expired, its number not suppressed, inside its sending hours, the
-- sender's daily cap not reached? Then reserve its nested rate-limit slots (reserve_limits in
-- prelude.lua; no rate keys: none). Nothing is claimed here: a worker that dies or fails from
-- now until its claim leaves the recipient queued, and it is published again; a recipient
-- that will not be sent spends no slot.
-- Returns {code, wait_us, record, attempts, released, complete, slot_us, binding, share_us}:
-- (share_us: the interval of its fair share, when asked for; not reserved when it is the
-- whole account, the campaign alone on it, and a limit inside is no looser: see
-- pacing.resolved) 1 ready (slots reserved, wait_us until the slot; complete 0: only the
-- inner limits are held, at slot_us, and the outer is reserved once that slot has come); 0 not queued (a duplicate or stale delivery: drop it);
-- 2 put back (campaign paused); 3 cancelled; 4 skipped (number suppressed since import);
-- 5 paced (no slot within max_wait, or the daily cap reached: waiting in the window for its due
-- time; binding names the limit that refused); 6 off hours (outside its sending hours, or too
-- close to their end: waiting for the next opening); 7 expired.
-- `hours` (empty: any time) holds, per timezone number (zones key) + 1, `closes,reopens`
-- separated by `;`: when the open hours end (0: closed now) and when they open next, as the
-- worker read the campaign's calendar. A send starts only `margin` seconds or more before its
-- hours end, and its slot is never further than that (nor past expires_at).
local cid, idx, now, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local FIRST_LIMIT = 17  -- KEYS index of the first rate-limit key; its interval is ARGV[i - 1]
if status_of(KEYS[2], idx) ~= QUEUED then return {0, 0, false, 0, {}, 0, 0, 0, 0} end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'running' then
  if KEYS[14] ~= '' then redis.call('ZREM', KEYS[14], cid) end  -- its share goes to the others
  redis.call('ZREM', KEYS[3], idx)
  if state == 'cancelled' then
    move(KEYS[2], KEYS[5], idx, QUEUED, CANCELLED)
    return {3, 0, false, 0, {}, 0, 0, 0, 0}
  end
  move(KEYS[2], KEYS[5], idx, QUEUED, PENDING)
  redis.call('RPUSH', KEYS[4], idx)
  return {2, 0, false, 0, {}, 0, 0, 0, 0}
end
local rec = redis.call('HGET', KEYS[10], ARGV[5])
local phone = string.match(rec or '', '^[^\31]*')
if redis.call('HEXISTS', KEYS[9], phone) == 1 then
  move(KEYS[2], KEYS[5], idx, QUEUED, SKIPPED)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {4, 0, false, 0, refill(KEYS, cid, now, stale), 0, 0, 0, 0}
end
local max_wait = tonumber(ARGV[6])
local over, left = expired(KEYS, now)
if over then
  move(KEYS[2], KEYS[5], idx, QUEUED, EXPIRED)
  emit_status(KEYS[1], cid, idx, EXPIRED, now)
  redis.call('ZREM', KEYS[3], idx)
  redis.call('BITFIELD', KEYS[11], 'SET', 'u32', idx * 40 + 8, math.floor(now))
  return {7, 0, false, 0, refill(KEYS, cid, now, stale), 0, 0, 0, 0}
end
if left then max_wait = math.min(max_wait, left * 1000000) end
if ARGV[12] ~= '' then
  local z = string.byte(redis.call('GETRANGE', KEYS[16], idx, idx)) or 0
  local n, closes, reopens = 0, 0, now
  for a, b in string.gmatch(ARGV[12], '([^,;]+),([^;]+)') do
    if n == z then closes, reopens = tonumber(a), tonumber(b) end
    n = n + 1
  end
  local margin = tonumber(ARGV[14])
  if closes - now < margin then
    if tonumber(ARGV[13]) > now then redis.call('HSET', KEYS[1], 'closed_until', ARGV[13]) end
    pace(KEYS, KEYS[11], KEYS[12], idx, reopens, now, stale, '', OFF_HOURS)
    return {6, 0, false, 0, refill(KEYS, cid, now, stale), 0, 0, 0, 0}
  end
  max_wait = math.min(max_wait, (closes - margin - now) * 1000000)
end
local cap = tonumber(ARGV[7])
if cap > 0 and redis.call('SISMEMBER', KEYS[13], phone) == 0 then
  if redis.call('SCARD', KEYS[13]) >= cap then
    pace(KEYS, KEYS[11], KEYS[12], idx, tonumber(ARGV[8]), now, stale,
         'daily cap of unique recipients reached for this sender')
    return {5, 0, false, 0, refill(KEYS, cid, now, stale), 0, 0, 0, 0}
  end
  redis.call('SADD', KEYS[13], phone)
  redis.call('EXPIRE', KEYS[13], 172800)
end
local code, wait, slot, binding, share = 1, 0, 0, 0, 0
if #KEYS >= FIRST_LIMIT then
  local limits, intervals = {}, {}
  for i = FIRST_LIMIT, #KEYS do
    limits[#limits + 1] = KEYS[i]
    intervals[#intervals + 1] = tonumber(ARGV[i - 1])
  end
  local alone = 0  -- the index of a share not reserved (see below)
  local outer = intervals[#intervals]
  for i = 1, #intervals do
    if intervals[i] == 0 then
      local grown
      share, grown = fair_interval(KEYS[14], KEYS[15], KEYS[6], cid, now, tonumber(ARGV[10]),
                                   tonumber(ARGV[11]), outer, limits[i])
      intervals[i] = share
      -- the whole account, and a limit inside it no looser (its own rate, its sender's): the
      -- share adds nothing, and that limit keeps the account's slot taken just in time
      if share == outer and i > 1 and math.max(unpack(intervals, 1, i - 1)) >= outer then
        alone = i
      end
      -- the sender's limit is just inside the share (a campaign's own rate, before it, stays)
      if grown and i > 1 then catch_up(limits[i - 1], intervals[i - 1], outer) end
    end
  end
  if alone > 0 then
    table.remove(limits, alone)
    table.remove(intervals, alone)
  end
  code, wait, slot, binding = reserve_limits(limits, intervals, max_wait, tonumber(ARGV[9]),
                                             tonumber(ARGV[15]))
  if alone > 0 and binding >= alone then binding = binding + 1 end  -- of the keys given
  if code < 0 then
    pace(KEYS, KEYS[11], KEYS[12], idx, now + wait / 1000000, now, stale, '')
    return {5, wait, false, 0, refill(KEYS, cid, now, stale), 0, 0, binding, share}
  end
end
local attempts = redis.call('BITFIELD', KEYS[11], 'GET', 'u8', idx * 40)[1]
return {1, wait, rec, attempts, {}, code == 1 and 1 or 0, slot, binding, share}
