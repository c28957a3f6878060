"""Outbound events in the store: subscriptions, their queues, failures and dead letters.

Each subscription has a stream of events not delivered yet (appended by the Lua scripts in
the step that made the change: prelude.lua `emit`), at most `EventRules.backlog` entries; a
hash with its URL, secret and delivery state (attempts of the oldest event, next attempt,
last error); and a dead-letter list of at most `EventRules.dead_max` events that were retried
for `EventRules.max_age` in vain, kept for replay. One task at a time delivers a subscription's
events (`hook_lock`), oldest first; an event leaves the stream only once its receiver
answered 2xx (or it went to the dead letters), so a worker that dies mid-delivery loses none.
"""

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from broadcaster.events import EventRules, Subscription
from broadcaster.keys import BUCKET_SIZE

from .base import StoreBase

__all__ = ["EventOutbox", "HookState"]

_REPLAY = """
local items = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #items, 1, -1 do
  local e = cjson.decode(items[i])
  local f = {}
  for k, v in pairs(e.fields) do f[#f + 1] = k; f[#f + 1] = v end
  if not e.fields.id then f[#f + 1] = 'id'; f[#f + 1] = e.id end
  redis.call('XADD', KEYS[1], '*', unpack(f))
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[3], 'next_at', 0, 'attempts', 0)
return #items
"""

#: KEYS: the campaign's hash, every subscription's set, the API's set, then per subscription
#: its hash and stream; ARGV: backlog, stats key, then per subscription id, url, secret and
#: '1' (attach it) or '' (an API one: only if it still is in the API's set, checked in this
#: same step, so that one deleted meanwhile is neither attached nor brought back).
_SUBSCRIBE = """
local streams = {}
for i = 0, (#KEYS - 3) / 2 - 1 do
  local a, id = 3 + 4 * i, ARGV[3 + 4 * i]
  if ARGV[a + 3] == '1' or redis.call('SISMEMBER', KEYS[3], id) == 1 then
    redis.call('HSET', KEYS[4 + 2 * i], 'url', ARGV[a + 1], 'secret', ARGV[a + 2])
    redis.call('SADD', KEYS[2], id)
    streams[#streams + 1] = KEYS[5 + 2 * i]
  end
end
if #streams > 0 then
  local field = ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. table.concat(streams, ' ')
  redis.call('HSET', KEYS[1], 'hooks', field)
end
return #streams
"""

#: The oldest ARGV[1] events of a stream, each as {id, fields, number or false}: the number
#: is the first field of the recipient's record (ARGV[2] .. cid .. ARGV[3] .. bucket).
_TO_DELIVER = """
local size = tonumber(ARGV[4])
local out = {}
for i, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', ARGV[1])) do
  local f, cid, r = e[2], nil, nil
  for j = 1, #f, 2 do
    if f[j] == 'c' then cid = f[j + 1] elseif f[j] == 'r' then r = tonumber(f[j + 1]) end
  end
  local phone = false
  if cid and r then
    local bucket = ARGV[2] .. cid .. ARGV[3] .. string.format('%d', math.floor(r / size))
    local record = redis.call('HGET', bucket, string.format('%d', r % size))
    if record then phone = string.match(record, '^[^\\031]*') end
  end
  out[i] = {e[1], f, phone}
end
return out
"""


@dataclasses.dataclass(frozen=True, slots=True)
class HookState:
    """A subscription and how its deliveries go (no secret)."""

    id: str
    url: str
    disabled: bool
    backlog: int
    dead: int
    delivered: int
    failed: int
    attempts: int
    next_at: float | None
    last_error: str | None
    last_error_at: float | None

    def to_dict(self) -> dict[str, Any]:
        """As JSON for the API."""
        return dataclasses.asdict(self)


class EventOutbox(StoreBase):
    """Event subscriptions and deliveries (a part of `CampaignStore`)."""

    def subscribe(
        self, cid: str, subs: Sequence[Subscription], rules: EventRules,
        *, api: Sequence[Subscription] = (),
    ) -> None:  # fmt: skip
        """Send campaign `cid`'s events from now on to `subs` and to those of `api` (the
        subscriptions made through the API) that are still there: one deleted while the
        campaign was being launched is not attached, nor brought back."""
        k = self.keys
        unique = {s.id: (s, "") for s in api} | {s.id: (s, "1") for s in subs}
        if not unique:
            return
        keys = [k.campaign(cid), k.hooks(), k.global_hooks()]
        args: list[str | int] = [rules.backlog, k.hook_stats()]
        for sub, always in unique.values():
            keys += [k.hook(sub.id), k.hook_events(sub.id)]
            args += [sub.id, sub.url, sub.secret, always]
        script = self.inline_script("subscribe", _SUBSCRIBE)
        script(keys=keys, args=args)

    def hook_ids(self) -> list[str]:
        """Every subscription's id, sorted."""
        return sorted(i.decode() for i in self.redis.smembers(self.keys.hooks()))

    def hook_secret(self, sub: str) -> tuple[str, str] | None:
        """(url, secret) of a subscription, or None when it is unknown."""
        url, secret = self.redis.hmget(self.keys.hook(sub), "url", "secret")
        return (url.decode(), secret.decode()) if url and secret else None

    def hook_state(self, sub: str) -> HookState:
        """How a subscription's deliveries go."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(k.hook(sub))
        pipe.xlen(k.hook_events(sub))
        pipe.llen(k.hook_dead(sub))
        raw, backlog, dead = pipe.execute()
        h = {key.decode(): value.decode() for key, value in raw.items()}
        return HookState(
            id=sub, url=h.get("url", ""), disabled=bool(h.get("disabled")), backlog=backlog,
            dead=dead, delivered=int(h.get("delivered", 0)), failed=int(h.get("failed", 0)),
            attempts=int(h.get("attempts", 0)), next_at=float(h.get("next_at") or 0) or None,
            last_error=h.get("last_error") or None,
            last_error_at=float(h.get("last_error_at") or 0) or None,
        )  # fmt: skip

    def due_hooks(self) -> list[str]:
        """Subscriptions with events waiting whose next attempt is due and that no task
        holds: the ticker hands each to a delivery task."""
        k, now = self.keys, self.clock()
        ids = self.hook_ids()
        pipe = self.redis.pipeline(transaction=False)
        for sub in ids:
            pipe.xlen(k.hook_events(sub))
            pipe.hmget(k.hook(sub), "next_at", "disabled")
            pipe.exists(k.hook_lock(sub))
        found = pipe.execute()
        due = []
        for n, sub in enumerate(ids):
            backlog, (next_at, disabled), locked = found[3 * n : 3 * n + 3]
            if backlog and not disabled and not locked and float(next_at or 0) <= now:
                due.append(sub)
        return due

    def lock_hook(self, sub: str, token: str, ttl: float) -> bool:
        """Take (or keep, with the same token) the right to deliver `sub`'s events."""
        key, ms = self.keys.hook_lock(sub), max(1, round(ttl * 1000))
        if self.redis.set(key, token, nx=True, px=ms):
            return True
        if self.redis.get(key) == token.encode():
            return bool(self.redis.pexpire(key, ms))
        return False

    def unlock_hook(self, sub: str, token: str) -> None:
        """Give the delivery right back (only if `token` still holds it)."""
        key = self.keys.hook_lock(sub)
        if self.redis.get(key) == token.encode():
            self.redis.delete(key)

    def waiting_events(self, sub: str, count: int) -> list[tuple[str, dict[str, str]]]:
        """The oldest `count` events not delivered yet: (entry id, fields)."""
        entries = self.redis.xrange(self.keys.hook_events(sub), count=count)
        return [
            (eid.decode(), {f.decode(): v.decode() for f, v in fields.items()})
            for eid, fields in entries
        ]

    def events_to_deliver(
        self, sub: str, count: int
    ) -> list[tuple[str, dict[str, str], str | None]]:
        """The oldest `count` waiting events, each with the number of the recipient it is
        about (None: a campaign event, or the recipient is gone), in one round trip."""
        k = self.keys
        before, _, after = k.recipients("\0", 0).removesuffix("0").partition("\0")
        script = self.inline_script("to_deliver", _TO_DELIVER)
        found = script(keys=[k.hook_events(sub)], args=[count, before, after, BUCKET_SIZE])
        batch = []
        for entry_id, flat, phone in found:
            fields = {f.decode(): v.decode() for f, v in zip(flat[::2], flat[1::2], strict=True)}
            batch.append((entry_id.decode(), fields, phone.decode() if phone else None))
        return batch

    def events_delivered(self, sub: str, entry_ids: Sequence[str]) -> None:
        """The receiver took these events: they leave the queue."""
        if not entry_ids:
            return
        k = self.keys
        pipe = self.redis.pipeline()
        pipe.xdel(k.hook_events(sub), *entry_ids)
        pipe.hincrby(k.hook(sub), "delivered", len(entry_ids))
        pipe.hset(k.hook(sub), mapping={"attempts": 0, "next_at": 0})
        pipe.execute()

    def event_failed(
        self, sub: str, entry_id: str, fields: dict[str, str], *, error: str,
        next_at: float | None, rules: EventRules, failures: int = 1,
    ) -> None:  # fmt: skip
        """An attempt failed: try again at `next_at`, or (None) give the event up to the
        dead letters and go on with the next. `failures`: the attempts that failed with it
        (other recipients' events of its window), counted with it."""
        k, now = self.keys, self.clock()
        pipe = self.redis.pipeline()
        pipe.hincrby(k.hook(sub), "failed", failures)
        state: dict[str, Any] = {"last_error": error[:500], "last_error_at": now}
        if next_at is None:
            record = {"id": entry_id, "fields": fields, "error": error[:500], "at": now}
            pipe.lpush(k.hook_dead(sub), json.dumps(record))
            pipe.ltrim(k.hook_dead(sub), 0, rules.dead_max - 1)
            pipe.xdel(k.hook_events(sub), entry_id)
            state |= {"attempts": 0, "next_at": 0}
        else:
            pipe.hincrby(k.hook(sub), "attempts", 1)
            state["next_at"] = next_at
        pipe.hset(k.hook(sub), mapping=state)
        pipe.execute()

    def disable_hook(self, sub: str, error: str) -> None:
        """The receiver answered 410 Gone: deliver nothing more to it."""
        mapping = {"disabled": 1, "last_error": error, "last_error_at": self.clock()}
        self.redis.hset(self.keys.hook(sub), mapping=mapping)

    def enable_hook(self, sub: str) -> None:
        """Deliver to a disabled subscription again (its queue kept what fitted)."""
        self.redis.hset(self.keys.hook(sub), mapping={"disabled": "", "next_at": 0})

    def dead_events(self, sub: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Events given up on, newest first: {id, fields, error, at}."""
        raw = self.redis.lrange(self.keys.hook_dead(sub), 0, limit - 1)
        return [json.loads(r) for r in raw]

    def replay_dead(self, sub: str) -> int:
        """Queue every dead letter again, oldest first, under its first event id."""
        k = self.keys
        keys = [k.hook_events(sub), k.hook_dead(sub), k.hook(sub)]
        script = self.inline_script("replay", _REPLAY)
        return int(script(keys=keys))
