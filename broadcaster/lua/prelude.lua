-- Shared helpers, prepended to every script. Statuses are bytes in one string per campaign.
-- The status constants (PENDING, QUEUED, ... PACED) and LABELS[status] come before this, written
-- from RecipientStatus by broadcaster/store/scripts.py.

local function status_of(key, idx)
  local b = redis.call('GETRANGE', key, idx, idx)
  if b == '' then return PENDING end
  return string.byte(b)
end

local function move(stkey, nkey, idx, old, new)
  redis.call('SETRANGE', stkey, idx, string.char(new))
  redis.call('HINCRBY', nkey, LABELS[old], -1)
  redis.call('HINCRBY', nkey, LABELS[new], 1)
end

local function zadd_many(key, score, members)
  for i = 1, #members, 500 do
    local args = {}
    for j = i, math.min(i + 499, #members) do
      args[#args + 1] = score
      args[#args + 1] = members[j]
    end
    redis.call('ZADD', key, unpack(args))
  end
end

local function event(key, now, kind, extra)
  local e = {t = now, event = kind}
  if extra then for k, v in pairs(extra) do e[k] = v end end
  redis.call('RPUSH', key, cjson.encode(e))
end

-- Outbound events (broadcaster/events.py). A campaign with subscriptions has the field
-- `hooks`: "<cap> <stats key> <stream key>...". An event goes to each stream in this same
-- step; a stream already holding `cap` events drops it, counted in the stats hash. Streams after
-- the first get the first one's entry id as `id`: one event id for every subscriber.
local function emit(ckey, cid, kind, idx, t, extra)
  local hooks = redis.call('HGET', ckey, 'hooks')
  if not hooks then return end
  local f = {'type', kind, 'c', cid, 't', tostring(t)}
  if idx then f[#f + 1] = 'r'; f[#f + 1] = tostring(idx) end
  for k, v in pairs(extra or {}) do
    if v ~= '' then f[#f + 1] = k; f[#f + 1] = v end
  end
  local cap, stats
  for word in string.gmatch(hooks, '%S+') do
    if not cap then
      cap = tonumber(word)
    elseif not stats then
      stats = word
    elseif redis.call('XLEN', word) >= cap then
      redis.call('HINCRBY', stats, 'dropped', 1)
    else
      local id = redis.call('XADD', word, '*', unpack(f))
      if f[#f - 1] ~= 'id' then f[#f + 1] = 'id'; f[#f + 1] = id end
    end
  end
end

-- The recipient statuses subscribers hear about.
local EMITTED = {[SENT] = 'recipient.sent', [DELIVERED] = 'recipient.delivered',
                 [READ] = 'recipient.read', [FAILED] = 'recipient.failed',
                 [UNKNOWN] = 'recipient.unknown', [EXPIRED] = 'recipient.expired'}

local function emit_status(ckey, cid, idx, new, t, err, mid)
  local kind = EMITTED[new]
  if kind then emit(ckey, cid, kind, idx, t, {error = err or '', message_id = mid or ''}) end
end

-- Waiting (and paced) recipients whose time is far off (more than `stale` seconds when they
-- were put back, as after a 131049 deferral: an hour) are also kept in a set beside the active
-- zset (K[8], Keys.parked), and do not count toward the window: a few of them must not stall
-- the campaign.

-- Release recipients into the window: requeued ones first, then from the cursor.
-- K = {campaign, status, active, requeue, counts, running, events, parked}; returns indexes
-- to publish.
local function refill(K, cid, now, stale)
  local c = redis.call('HMGET', K[1], 'state', 'window', 'cursor', 'total', 'closed_until')
  if c[1] ~= 'running' then return {} end
  local window, cursor, total = tonumber(c[2]), tonumber(c[3] or '0'), tonumber(c[4])
  local free = window - redis.call('ZCARD', K[3]) + redis.call('SCARD', K[8])
  -- every timezone of the campaign is outside its sending hours until then (prepare.lua)
  if tonumber(c[5] or '0') > now then free = 0 end
  local out = {}
  -- release in chunks of an eighth of the window: publishing many messages at once is much
  -- cheaper per message than one per finished send
  local left = (total - cursor) + redis.call('LLEN', K[4])
  if free < math.min(math.max(1, math.floor(window / 8)), left) then free = 0 end
  while free > 0 do
    local i = redis.call('LPOP', K[4])
    if not i then break end
    i = tonumber(i)
    if status_of(K[2], i) == PENDING then
      move(K[2], K[5], i, PENDING, QUEUED)
      out[#out + 1] = i
      free = free - 1
    end
  end
  if free > 0 and cursor < total then
    local n = math.min(free, total - cursor)
    redis.call('SETRANGE', K[2], cursor, string.rep(string.char(QUEUED), n))
    redis.call('HINCRBY', K[5], 'pending', -n)
    redis.call('HINCRBY', K[5], 'queued', n)
    for i = cursor, cursor + n - 1 do out[#out + 1] = i end
    cursor = cursor + n
    redis.call('HSET', K[1], 'cursor', cursor)
  end
  if #out > 0 then
    zadd_many(K[3], now + stale, out)
  elseif cursor >= total and redis.call('ZCARD', K[3]) == 0
      and redis.call('LLEN', K[4]) == 0 then
    redis.call('HSET', K[1], 'state', 'completed', 'finished_at', now)
    redis.call('SREM', K[6], cid)
    event(K[7], now, 'completed')
    emit(K[1], cid, 'campaign.completed', nil, now)
  end
  return out
end

-- A recipient waiting for a due time: a retry after an error, or a rate-limit slot.
local function deferred(s) return s == WAITING or s == PACED or s == OFF_HOURS end

-- Keep a waiting recipient in the window until `due`; one due later than `stale` from now is
-- parked too (see above).
local function hold(K, idx, due, now, stale)
  redis.call('ZADD', K[3], due, idx)
  if due > now + stale then redis.call('SADD', K[8], idx) end
end

-- A queued recipient goes back to wait for its time (no rate-limit slot within reach, or the
-- sender's daily cap): paced, nothing attempted; or `status` (off_hours: outside its sending
-- hours). `meta` keeps its last change time.
local function pace(K, meta, errors, idx, due, now, stale, err, status)
  move(K[2], K[5], idx, QUEUED, status or PACED)
  hold(K, idx, due, now, stale)
  redis.call('BITFIELD', meta, 'SET', 'u32', idx * 40 + 8, math.floor(now))
  if err ~= '' then redis.call('HSET', errors, idx, err) end
end

-- A sender's global rate limit (GCRA on Redis's own clock, in microseconds; the design is in
-- workers/ratelimit.py): reserve the next slot of `key`, spaced `interval` apart. Returns the
-- microseconds to wait for it, or -(wait + 1) when that is beyond `max_wait` (nothing
-- reserved then). No slot before `not_before` (µs on Redis's clock; 0: none) is given.
local function reserve_slot(key, interval, max_wait, not_before)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  if tat < (not_before or 0) then tat = not_before end
  local wait = tat - now
  if wait > max_wait then return -wait - 1 end
  redis.call('SET', key, string.format('%d', tat + interval),
             'PX', math.floor((wait + interval) / 1000) + 1000)
  return wait
end

-- Nested rate limits (workers/ratelimit): `keys` innermost first, the outer one (the account's,
-- shared by every sender on it) last, one interval per key. The inner keys take one common slot
-- (the latest of their next free ones); the outer takes its own next slot too only when that
-- common slot is now (within `slack`), else the caller comes back for it once the slot has come,
-- so no send holds a slot of the account while it still waits for another limit. Returns code,
-- wait, slot, index of the key that decided the wait: 1 all taken (wait: the outer's slot); 2
-- the inner taken, the outer not yet (wait: the inner slot); -1 the inner refused (wait: how
-- far); -2 the outer refused (the inner given back). Nothing is taken when refused. No slot
-- is earlier than `lead` µs after Redis's now (half the caller's round trip: its answer gets
-- to a caller a distance away no sooner; 0 or nil: now).
local function reserve_limits(keys, intervals, max_wait, slack, lead)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local n = #keys
  lead = lead or 0
  local slot, old, binding = now + lead, {}, n
  for i = 1, n - 1 do
    old[i] = redis.call('GET', keys[i])
    local tat = tonumber(old[i] or '0')
    if tat > slot then slot, binding = tat, i end
  end
  if slot - now > max_wait then return -1, slot - now, 0, binding end
  local function take(i, at)
    redis.call('SET', keys[i], string.format('%d', at + intervals[i]),
               'PX', math.floor((at - now + intervals[i]) / 1000) + 1000)
  end
  for i = 1, n - 1 do take(i, slot) end
  if slot - now > slack + lead then return 2, slot - now, slot, binding end
  local tat = tonumber(redis.call('GET', keys[n]) or '0')
  if tat < slot then tat = slot end
  if tat - now > max_wait then
    for i = 1, n - 1 do
      if old[i] then redis.call('SET', keys[i], old[i], 'KEEPTTL')
      else redis.call('DEL', keys[i]) end
    end
    return -2, tat - now, 0, n
  end
  take(n, tat)
  return 1, tat - now, slot, n
end

-- A slot of every key at Redis's now less `back` µs, when each of them is idle then (its next
-- slot has come): true, and the slots are taken; else false, nothing taken. `back` is half
-- the caller's round trip: a send prepared earlier leaves a round trip after its slot (its
-- claim is sent at the slot), one on a fresh slot half a round trip after Redis's now (the
-- claim's answer), so the fresh slot is placed where the same departure puts the others'.
local function take_if_idle(keys, intervals, back)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) - back
  for i = 1, #keys do
    if tonumber(redis.call('GET', keys[i]) or '0') > now then return false end
  end
  for i = 1, #keys do
    redis.call('SET', keys[i], string.format('%d', now + intervals[i]),
               'PX', math.floor(intervals[i] / 1000) + 1000)
  end
  return true
end

-- Fair sharing of an account: equal shares among the campaigns that prepared a send on it
-- lately (`active`: cid -> last time; `caps`: cid -> the interval of the campaign's own rate,
-- 0: none), max-min fair: a campaign whose own rate is below the equal share keeps only that,
-- and the rest is shared by the others. Lately: within four of its shares' intervals (a
-- campaign sending at its share prepares about once an interval), and at least `ttl` seconds;
-- a campaign that stops (done, or all its recipients waiting) so leaves its share to the others
-- within a few slots; one that is not running any more (`running`: paused, cancelled,
-- completed) leaves it at once, at the others' next reservation. When the share grows, the
-- campaign's next slot on `share` is now, so a paused campaign's share goes to the others from
-- their next reservation, not after the slots they hold (the account's own limit still holds
-- every send); when it shrinks, the slots ahead are respaced to it. Returns the interval (µs)
-- of this campaign's share of an account whose interval is `outer`: `outer` itself when the
-- campaign is alone on the account (found in a few steps); and true when the share grew just
-- now.
local function fair_interval(active, caps, running, cid, now, ttl, own, outer, share)
  redis.call('ZADD', active, now, cid)
  redis.call('HSET', caps, cid, own)
  local span = 4 * redis.call('ZCARD', active) * outer / 1000000
  redis.call('ZREMRANGEBYSCORE', active, '-inf', now - math.max(ttl, span))
  redis.call('EXPIRE', active, 86400)
  redis.call('EXPIRE', caps, 86400)
  local interval = outer  -- alone: the whole account
  if redis.call('ZCARD', active) > 1 then
    local rates = {}
    for _, member in ipairs(redis.call('ZRANGE', active, 0, -1)) do
      if redis.call('SISMEMBER', running, member) == 0 then
        redis.call('ZREM', active, member)  -- paused or ended: its share is the others' now
      else
        local cap = tonumber(redis.call('HGET', caps, member) or '0') or 0
        rates[#rates + 1] = cap > 0 and 1 / cap or math.huge
      end
    end
    table.sort(rates)
    local left, k = 1 / outer, #rates
    for _, rate in ipairs(rates) do
      if rate * k >= left then break end
      left, k = left - rate, k - 1
    end
    interval = math.max(outer, math.ceil(k / left))
  end
  local last = tonumber(redis.call('HGET', caps, cid .. ':share') or '0')
  if last ~= interval then
    redis.call('HSET', caps, cid .. ':share', interval)
    local tat, t = tonumber(redis.call('GET', share) or '0'), redis.call('TIME')
    local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
    if last > 0 and tat > us then  -- grown: from now on; shrunk: respaced
      local ahead = interval < last and 0 or math.floor((tat - us) * interval / last)
      redis.call('SET', share, string.format('%d', us + ahead), 'KEEPTTL')
      return interval, interval < last
    end
  end
  return interval, false
end

-- After a campaign's share of its account grew (fair_interval): its sender's limit (`key`,
-- whose next slot followed the share's slots far ahead) is free from now on too, when the
-- account's limit is no looser than the sender's (`interval` <= `outer`): every send of it
-- passes the account, so the sender's rate still holds. Else the slots held ahead keep it.
local function catch_up(key, interval, outer)
  if interval > outer then return end
  local t = redis.call('TIME')
  local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  if tonumber(redis.call('GET', key) or '0') > us then
    redis.call('SET', key, string.format('%d', us), 'KEEPTTL')
  end
end

-- The claim of a recipient in `sending` is known by its lease deadline (its score in the
-- window), which the claiming worker chose: true when `lease_until` is that deadline.
local function claimed_by(K, idx, lease_until)
  local score = redis.call('ZSCORE', K[3], idx)
  return score ~= false and score ~= nil and tonumber(score) == lease_until
end

-- Counts a request that reached Replai in a ring of 64 one-second slots ("<second>:<count>"),
-- from which the current send rate is read.
local function count_send(key, now)
  local sec = math.floor(now)
  local slot = sec % 64
  local cur = redis.call('HGET', key, slot)
  local n = 0
  if cur then
    local s, c = string.match(cur, '^(%d+):(%d+)$')
    if tonumber(s) == sec then n = tonumber(c) end
  end
  redis.call('HSET', key, slot, sec .. ':' .. (n + 1))
end

-- The campaign's validity ended (its expires_at): every recipient not sent and not being sent
-- ends `expired`; one in `sending` keeps its claim (its request may have left), and its outcome
-- completes the campaign. Returns how many expired. Subscribers hear `recipient.expired` for
-- each recipient that was released (at most the window and the pending list), and one
-- `campaign.expired` with the range of indexes never released (`from` to `to`, any size).
local function expire_all(K, meta, cid, now)
  local c = redis.call('HMGET', K[1], 'cursor', 'total')
  local cursor, total = tonumber(c[1] or '0'), tonumber(c[2])
  local n = total - cursor
  if n > 0 then
    redis.call('SETRANGE', K[2], cursor, string.rep(string.char(EXPIRED), n))
    redis.call('HINCRBY', K[5], 'pending', -n)
    redis.call('HINCRBY', K[5], 'expired', n)
    redis.call('HSET', K[1], 'cursor', total)
    emit(K[1], cid, 'campaign.expired', nil, now,
         {count = tostring(n), from = tostring(cursor), to = tostring(total - 1)})
  end
  local function expire(i, s)
    move(K[2], K[5], i, s, EXPIRED)
    emit_status(K[1], cid, i, EXPIRED, now)
    redis.call('BITFIELD', meta, 'SET', 'u32', i * 40 + 8, math.floor(now))
    n = n + 1
  end
  for _, m in ipairs(redis.call('LRANGE', K[4], 0, -1)) do
    local i = tonumber(m)
    if status_of(K[2], i) == PENDING then expire(i, PENDING) end
  end
  redis.call('DEL', K[4])
  for _, m in ipairs(redis.call('ZRANGE', K[3], 0, -1)) do
    local i = tonumber(m)
    local s = status_of(K[2], i)
    if s ~= SENDING then
      if s == QUEUED or deferred(s) then expire(i, s) end
      redis.call('ZREM', K[3], i)
      redis.call('SREM', K[8], i)
    end
  end
  if n > 0 then event(K[7], now, 'expired', {count = n}) end
  return n
end

-- True when the campaign's validity (expires_at, in its hash) has ended at `now`; also the
-- seconds left (nil without one).
local function expired(K, now)
  local at = tonumber(redis.call('HGET', K[1], 'expires_at') or '')
  if not at then return false, nil end
  return now >= at, at - now
end
