"""A campaign's life in the store: start, pause, resume, cancel, requeue, and the ticker's
pass over deadlines. Each change is one Lua script (control.lua, tick.lua)."""

import itertools
from typing import Any

from broadcaster.campaigns import RecipientStatus
from broadcaster.errors import CampaignNotFound, CampaignStateError

from .base import StoreBase

__all__ = ["Lifecycle"]


#: KEYS: the expiring set, then campaign hashes; ARGV: their ids, in the same order. Adds each
#: paused campaign with an expires_at that the set does not hold; returns how many.
_INDEX_EXPIRING = """
local n = 0
for i = 2, #KEYS do
  local c = redis.call('HMGET', KEYS[i], 'state', 'expires_at')
  local ends = tonumber(c[2] or '')
  if c[1] == 'paused' and ends and not redis.call('ZSCORE', KEYS[1], ARGV[i - 1]) then
    redis.call('ZADD', KEYS[1], ends, ARGV[i - 1])
    n = n + 1
  end
end
return n
"""
#: Campaigns looked at per Lua call.
_INDEX_BATCH = 500


class Lifecycle(StoreBase):
    """Lifecycle changes (a part of `CampaignStore`). Each returns the recipients it released
    into the dispatch window, for the caller to publish."""

    def start(self, cid: str) -> list[int]:
        """Start (or schedule, when send_at is ahead) a draft; returns recipients to publish."""
        return self._act(cid, "start")[0]

    def pause(self, cid: str, reason: str = "") -> None:
        """Stop releasing sends; queued ones go back to pending as workers meet them."""
        self._act(cid, "pause", reason)

    def resume(self, cid: str) -> list[int]:
        """Continue a paused campaign; returns recipients to publish."""
        return self._act(cid, "resume")[0]

    def cancel(self, cid: str) -> int:
        """Cancel every recipient not yet sent; returns how many were cancelled."""
        return self._act(cid, "cancel")[1]

    def requeue(
        self, cid: str, status: RecipientStatus, *, asked: str = ""
    ) -> tuple[list[int], int]:
        """Put recipients in `status` (failed or unknown) back to pending.

        `asked` names the operator's action in a refusal ("cannot <asked> a cancelled
        campaign"). Returns the recipients to publish now and how many were requeued.
        """
        if status not in (RecipientStatus.FAILED, RecipientStatus.UNKNOWN):
            raise ValueError(f"only failed or unknown recipients can be requeued, not {status}")
        return self._act(cid, "requeue", str(int(status)), asked=asked)

    def _act(
        self, cid: str, action: str, extra: str = "", *, asked: str = ""
    ) -> tuple[list[int], int]:
        k = self.keys
        keys = [*self.base_keys(cid), k.scheduled(), k.expiring(), k.meta(cid)]
        args: list[Any] = [cid, action, self.clock(), self.stale_after, extra, asked]
        result = self.script("control.lua")(keys=keys, args=args)
        if result[0] == b"err":
            message = result[1].decode()
            if message == "campaign not found":
                raise CampaignNotFound(cid)
            raise CampaignStateError(message)
        return [int(i) for i in result[1]], int(result[2])

    def tick(self, cid: str, *, limit: int = 1000) -> list[int]:
        """Handle due deadlines of one running campaign; returns recipients to publish."""
        keys = [*self.base_keys(cid), self.keys.errors(cid), self.keys.meta(cid)]
        out = self.script("tick.lua")(keys=keys, args=[cid, self.clock(), self.stale_after, limit])
        return [int(i) for i in out]

    def expire_paused(self) -> list[str]:
        """Expire the paused campaigns whose expires_at has passed (a running one expires in
        its `tick`): their recipients not sent end `expired`, and they complete as soon as no
        send is in flight (nothing is left to publish). Returns the ids looked at."""
        ids = self.redis.zrangebyscore(self.keys.expiring(), "-inf", self.clock())
        due = [i.decode() for i in ids]
        for cid in due:
            self._act(cid, "expire")
        return due

    def index_paused_expiries(self) -> int:
        """Put in the expiring set the paused campaigns that have an expires_at and are not in
        it: those paused by a version before the set (2026-12-01), which would otherwise expire
        only once resumed. Done once per deployment (`keys.expiring_indexed()` marks it), in
        steps of 500 campaigns (ZSCAN, so a deployment of millions never lists them at once);
        the ticker calls it when it starts leading. Returns how many were added."""
        k = self.keys
        if self.redis.exists(k.expiring_indexed()):
            return 0
        script = self.inline_script("index_expiring", _INDEX_EXPIRING)
        cids = (m.decode() for m, _ in self.redis.zscan_iter(k.campaigns(), count=_INDEX_BATCH))
        added = 0
        while chunk := list(itertools.islice(cids, _INDEX_BATCH)):
            added += int(script(keys=[k.expiring(), *map(k.campaign, chunk)], args=chunk))
        self.redis.set(k.expiring_indexed(), self.clock())
        return added

    def due_scheduled(self) -> list[str]:
        """Ids of scheduled campaigns whose start time has come."""
        ids = self.redis.zrangebyscore(self.keys.scheduled(), "-inf", self.clock())
        return [i.decode() for i in ids]

    def running_ids(self) -> list[str]:
        """Ids of running campaigns."""
        return sorted(i.decode() for i in self.redis.smembers(self.keys.running()))
