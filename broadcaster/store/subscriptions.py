"""Event subscriptions made through the API, in Redis beside those of the settings.

A subscription made with `add_global_hook` is kept in the set `keys.global_hooks()` and, like
every subscription, in `keys.hooks()` with its hash (URL, secret, delivery state): the ticker
and the delivery tasks (`workers/events.py`) find it there, and every campaign launched from
then on subscribes it (`launching.launch` passes `global_hooks()` to `subscribe`, which
attaches each only if it is still in the set, in one Lua step: one deleted during a launch is
neither attached nor brought back). One per URL. `remove_global_hook` takes it away
everywhere: from the sets, its queue, dead letters and hash, and from the campaigns already
subscribed (their `hooks` field, rewritten in Lua so that no event is appended to it in
between).
"""

from broadcaster.events import Subscription

from .base import StoreBase

__all__ = ["GlobalHooks"]

#: KEYS: global set, all hooks set, the new hook's hash; ARGV: id, url, secret, created_at.
#: Returns the id of the global subscription already at that URL, or '' once added.
_ADD = """
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = string.sub(KEYS[3], 1, #KEYS[3] - #ARGV[1]) .. id
  if redis.call('HGET', key, 'url') == ARGV[2] then return id end
end
redis.call('HSET', KEYS[3], 'url', ARGV[2], 'secret', ARGV[3], 'created_at', ARGV[4])
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[1])
return ''
"""

#: KEYS: campaign hashes; ARGV[1]: the stream to take out of their `hooks` field
#: (`<cap> <stats key> <stream> ...`; without a stream left the field goes).
_DETACH = """
local n = 0
for _, key in ipairs(KEYS) do
  local hooks = redis.call('HGET', key, 'hooks')
  if hooks then
    local words, found = {}, false
    for word in string.gmatch(hooks, '%S+') do
      if word == ARGV[1] then found = true else words[#words + 1] = word end
    end
    if found then
      n = n + 1
      if #words > 2 then
        redis.call('HSET', key, 'hooks', table.concat(words, ' '))
      else
        redis.call('HDEL', key, 'hooks')
      end
    end
  end
end
return n
"""
#: Campaigns rewritten per Lua call (each call holds Redis that long).
_DETACH_BATCH = 500


class GlobalHooks(StoreBase):
    """The API's event subscriptions, which every campaign launched gets (a part of
    `CampaignStore`)."""

    def add_global_hook(self, sub: Subscription) -> str | None:
        """Keep `sub` for every campaign launched from now on; returns None, or the id of the
        global subscription that already has its URL (nothing is changed then)."""
        k = self.keys
        keys = [k.global_hooks(), k.hooks(), k.hook(sub.id)]
        found = self.inline_script("add_global", _ADD)(
            keys=keys, args=[sub.id, sub.url, sub.secret, self.clock()]
        )
        return found.decode() if found else None

    def global_hook_ids(self) -> set[str]:
        """The ids of the API's subscriptions."""
        return {i.decode() for i in self.redis.smembers(self.keys.global_hooks())}

    def global_hooks(self) -> list[Subscription]:
        """The API's subscriptions with their secrets (for a launch), by id."""
        ids = sorted(self.global_hook_ids())
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for sub in ids:
            pipe.hmget(self.keys.hook(sub), "url", "secret")
        found = pipe.execute()
        return [Subscription(u.decode(), s.decode()) for u, s in found if u and s]

    def remove_global_hook(self, sub: str) -> bool:
        """Take an API subscription away everywhere (False: there is none with that id)."""
        k = self.keys
        if not self.redis.srem(k.global_hooks(), sub):
            return False
        self.redis.srem(k.hooks(), sub)
        detach = self.inline_script("detach_hook", _DETACH)
        cids = [c.decode() for c in self.redis.zrange(k.campaigns(), 0, -1)]
        for start in range(0, len(cids), _DETACH_BATCH):
            chunk = cids[start : start + _DETACH_BATCH]
            detach(keys=[k.campaign(c) for c in chunk], args=[k.hook_events(sub)])
        self.redis.delete(k.hook(sub), k.hook_events(sub), k.hook_dead(sub), k.hook_lock(sub))
        return True
