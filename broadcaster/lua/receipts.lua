-- Applying what webhooks report to a recipient: delivery statuses, replies, opt-outs and
-- callbacks held until their send is recorded. Put in front of callback.lua (a webhook body)
-- and finish.lua (a send recorded: what was held for its message id is applied in that step).
-- LIFTED_BY_RESUME[source] comes from optouts.LIFTED_BY_RESUME (store/scripts.py writes it).
--
-- C, a campaign's keys: {campaign, status, counts, meta, errors, replies}.
-- G, the global ones:   {suppression, resumes, held, since, stats}.

-- How far a message got. A status replaces the recipient's only when it ranks higher, so the
-- final status does not depend on the order callbacks arrive in: sent < failed < delivered <
-- read. A failure ends a message that was only sent; a receipt from the phone (delivered,
-- read) proves it arrived, so no failure overrides it, whenever either was stamped. `unknown`
-- (the worker lost the answer) learns anything. Other statuses take no callback.
local RANK = {[UNKNOWN] = 0, [SENT] = 1, [FAILED] = 2, [DELIVERED] = 3, [READ] = 4}

-- Reply texts are stored as "<time>\31<kind>\31<text>".
local SEP = '\31'

local function meta_time(C, idx)
  return redis.call('BITFIELD', C.meta, 'GET', 'u32', idx * 40 + 8)[1]
end

-- Move recipient `idx` to status `new` stamped `t` if that is further along; 1 when it moved.
local function apply_status(C, idx, new, t, err)
  local cur = status_of(C.status, idx)
  local have = RANK[cur]
  if have == nil or RANK[new] <= have then return 0 end
  move(C.status, C.counts, idx, cur, new)
  redis.call('BITFIELD', C.meta, 'SET', 'u32', idx * 40 + 8, t)
  emit_status(C.campaign, C.cid, idx, new, t, err, '')
  if new == FAILED then
    redis.call('HSET', C.errors, idx, err)
  elseif cur == FAILED then
    redis.call('HDEL', C.errors, idx)  -- a receipt after a failure: the reason no longer holds
  end
  return 1
end

-- Keep a reply on recipient `idx` (the newest by its own time) and count it on the campaign.
local function apply_reply(C, idx, t, kind, text, stop)
  local old = redis.call('HGET', C.replies, idx)
  local old_t = old and tonumber(string.match(old, '^(%d+)' .. SEP))
  if not old_t or old_t <= t then
    redis.call('HSET', C.replies, idx, t .. SEP .. kind .. SEP .. text)
  end
  redis.call('HINCRBY', C.campaign, 'replies', 1)
  if stop then redis.call('HINCRBY', C.campaign, 'opted_out', 1) end
  emit(C.campaign, C.cid, 'recipient.replied', idx, t, {text = text})
  if stop then emit(C.campaign, C.cid, 'recipient.opted_out', idx, t, {source = kind}) end
end

local function parse_optout(value)
  local source, t = string.match(value, '^(%S+) (%d+)$')
  return source, tonumber(t)
end

-- Suppress `phone` (source, time). A person's own opt-out (keyword, button) or an operator's
-- outranks one Meta's setting made; within a rank the newer one is kept. An opt-out a resume
-- lifts is not recorded when a newer resume is known (it arrived late). 1 when recorded.
local function opt_out(G, phone, source, t)
  local liftable = LIFTED_BY_RESUME[source] == true
  if liftable then
    local resumed = tonumber(redis.call('HGET', G.resumes, phone) or '')
    if resumed and resumed > t then return 0 end
  end
  local cur = redis.call('HGET', G.suppression, phone)
  if cur then
    local cur_source, cur_t = parse_optout(cur)
    local cur_liftable = LIFTED_BY_RESUME[cur_source] == true
    if cur_liftable ~= liftable then
      if liftable then return 0 end
    elseif cur_t > t or (cur_t == t and cur_source >= source) then
      return 0
    end
  end
  redis.call('HSET', G.suppression, phone, source .. ' ' .. t)
  return 1
end

-- A resume at `t`: lifts an opt-out Meta's setting made before it. 1 when one was lifted.
local function opt_in(G, phone, t)
  local resumed = tonumber(redis.call('HGET', G.resumes, phone) or '')
  if not resumed or resumed < t then redis.call('HSET', G.resumes, phone, t) end
  local cur = redis.call('HGET', G.suppression, phone)
  if not cur then return 0 end
  local source, since = parse_optout(cur)
  if LIFTED_BY_RESUME[source] and since < t then
    redis.call('HDEL', G.suppression, phone)
    return 1
  end
  return 0
end

-- Keep a callback whose message id is not recorded yet (a table, JSON-encoded with the others
-- of that id), at most `max` ids and 16 callbacks per id. 1 when held, 0 when dropped.
local function hold_callback(G, digest, record, now, max)
  local cur = redis.call('HGET', G.held, digest)
  local records
  if cur then
    records = cjson.decode(cur)
  elseif redis.call('HLEN', G.held) < max then
    records = {}
    redis.call('ZADD', G.since, now, digest)
  end
  if not records or #records >= 16 then
    redis.call('HINCRBY', G.stats, 'dropped', 1)
    return 0
  end
  records[#records + 1] = record
  redis.call('HSET', G.held, digest, cjson.encode(records))
  redis.call('HINCRBY', G.stats, 'held', 1)
  return 1
end

-- Take what was held for a message id off the hold; nil when nothing was.
local function unhold_callbacks(G, digest)
  local cur = redis.call('HGET', G.held, digest)
  if not cur then return nil end
  redis.call('HDEL', G.held, digest)
  redis.call('ZREM', G.since, digest)
  return cjson.decode(cur)
end

-- Apply the callbacks held for a message whose send is recorded now, as recipient `idx`
-- (number `phone`) of the campaign whose keys are C. Returns how many there were.
local function release(C, G, digest, idx, phone)
  local records = unhold_callbacks(G, digest)
  if not records then return 0 end
  for _, r in ipairs(records) do
    if r.s then
      apply_status(C, idx, r.s, r.t, r.e)
      if r.o ~= '' then
        if phone ~= '' then opt_out(G, phone, r.o, r.t) end
        emit(C.campaign, C.cid, 'recipient.opted_out', idx, r.t, {source = r.o})
      end
    else
      apply_reply(C, idx, r.t, r.y, r.x, r.q == 1)
    end
  end
  redis.call('HINCRBY', G.stats, 'released', #records)
  return #records
end
