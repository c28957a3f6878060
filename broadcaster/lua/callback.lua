-- KEYS: seen suppression resumes held since stats, then per status its message index bucket,
--       per reply its phone index bucket and the index bucket of the message it answers
--       (the phone bucket again when it answers none)
-- ARGV: ttl now hold max window nstatuses nreplies noptouts noptins nerrors skipped, seven
--       key templates as prefix/suffix pairs (campaign status counts meta errors replies
--       recipients), then digest/status/time/error/optout-source per status,
--       phone/time/kind/text/stop/context-digest per reply, phone/source/time per opt-out,
--       phone/time per opt-in, code per value-level error
-- One webhook body in one round trip (receipts.lua has the rules): de-duplication (ttl 0:
-- none), the hold's expired entries cleared, statuses, replies, opt-outs and opt-ins, counters.
-- A callback for a message id not recorded yet is held for the worker's finish.lua; one held
-- longer than `hold` seconds expires, counted (a held reply then goes by phone). A campaign's
-- keys are found through the indexes, so they are built here from templates keys.py made.
-- Returns {duplicate, statuses applied, statuses that changed nothing, replies matched,
-- callbacks held, opt-outs recorded, opt-outs lifted}.
local ttl, now = tonumber(ARGV[1]), tonumber(ARGV[2])
if ttl > 0 and not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ttl) then return {1, 0, 0, 0, 0, 0, 0} end
local hold_for, hold_max, window = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local nst, nre, nout, nin, nerr = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]),
  tonumber(ARGV[9]), tonumber(ARGV[10])
local G = {suppression = KEYS[2], resumes = KEYS[3], held = KEYS[4], since = KEYS[5],
           stats = KEYS[6]}
local T = 12  -- ARGV index of the first template

local function key(n, cid) return ARGV[T + 2 * n] .. cid .. ARGV[T + 1 + 2 * n] end

-- The keys of a campaign that still exists, or nil. A callback for a campaign being archived
-- or archived (its report is written, its recipients leave Redis) is counted as late and
-- changes nothing.
local function campaign(cid)
  local C = {cid = cid, campaign = key(0, cid), status = key(1, cid), counts = key(2, cid),
             meta = key(3, cid), errors = key(4, cid), replies = key(5, cid)}
  local f = redis.call('HMGET', C.campaign, 'total', 'archiving')
  if not f[1] then return nil end
  if f[2] then
    redis.call('HINCRBY', G.stats, 'late', 1)
    return nil
  end
  return C
end

local function ref(bucket, field)
  local found = redis.call('HGET', bucket, field)
  if not found then return nil end
  local cid, idx = string.match(found, '^(.*):(%d+)$')
  return cid, tonumber(idx)
end

local function recipient_phone(cid, idx)
  local bucket = key(6, cid) .. math.floor(idx / BUCKET_SIZE)
  local rec = redis.call('HGET', bucket, idx % BUCKET_SIZE)
  return string.match(rec or '', '^[^\31]*')
end

-- The campaign that last messaged `phone`, if that message's last status is within `window`
-- seconds before `t`.
local function by_phone(bucket, phone, t)
  local cid, idx = ref(bucket, phone)
  if not cid then return nil end
  local C = campaign(cid)
  if not C or t - meta_time(C, idx) > window then return nil end
  return C, idx
end

-- Held callbacks that waited `hold_for` seconds for their send: counted as expired; replies
-- among them go to the campaign that last messaged the number.
for _, digest in ipairs(redis.call('ZRANGEBYSCORE', G.since, '-inf', now - hold_for,
    'LIMIT', 0, 16)) do
  local records = unhold_callbacks(G, digest)
  for _, r in ipairs(records or {}) do
    if not r.s then
      local C, idx = by_phone(r.b, r.p, r.t)
      if C then apply_reply(C, idx, r.t, r.y, r.x, r.q == 1) end
    end
  end
  redis.call('HINCRBY', G.stats, 'expired', #(records or {}))
end

local applied, replies, held, opted_out, lifted = 0, 0, 0, 0, 0
local a, k = T + 14, 7
for _ = 1, nst do
  local new, t, err, source = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), ARGV[a + 3],
    ARGV[a + 4]
  local cid, idx = ref(KEYS[k], ARGV[a])
  if cid then
    local C = campaign(cid)
    if C then
      applied = applied + apply_status(C, idx, new, t, err)
      if source ~= '' then
        local phone = recipient_phone(cid, idx)
        if phone ~= '' then opted_out = opted_out + opt_out(G, phone, source, t) end
        emit(C.campaign, cid, 'recipient.opted_out', idx, t, {source = source})
      end
    end
  else
    held = held + hold_callback(G, ARGV[a], {s = new, t = t, e = err, o = source}, now, hold_max)
  end
  a, k = a + 5, k + 1
end
local unchanged = nst - applied - held
for _ = 1, nre do
  local phone, t, kind, text = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3]
  local stop, context = ARGV[a + 4] == '1', ARGV[a + 5]
  local C, idx
  if context ~= '' then
    local cid, i = ref(KEYS[k + 1], context)
    if cid then
      C, idx = campaign(cid), i
    else
      local record = {p = phone, t = t, y = kind, x = text, q = stop and 1 or 0, b = KEYS[k]}
      held = held + hold_callback(G, context, record, now, hold_max)
    end
  else
    C, idx = by_phone(KEYS[k], phone, t)
  end
  if C then
    apply_reply(C, idx, t, kind, text, stop)
    replies = replies + 1
  end
  a, k = a + 6, k + 2
end
for _ = 1, nout do
  opted_out = opted_out + opt_out(G, ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2]))
  a = a + 3
end
for _ = 1, nin do
  lifted = lifted + opt_in(G, ARGV[a], tonumber(ARGV[a + 1]))
  a = a + 2
end
if nerr > 0 then
  redis.call('HINCRBY', G.stats, 'errors', nerr)
  for _ = 1, nerr do
    redis.call('HINCRBY', G.stats, 'error:' .. ARGV[a], 1)
    a = a + 1
  end
end
if tonumber(ARGV[11]) > 0 then redis.call('HINCRBY', G.stats, 'skipped', tonumber(ARGV[11])) end
return {0, applied, unchanged, replies, held, opted_out, lifted}
