"""Archived campaigns in Redis: what stays once a campaign's report is in its archive file.

An archived campaign keeps its hash of fields (name, dates, total, replies; `archive`: where
its report is, `archived_at`; `failures`: its failure reasons grouped by code, as JSON), its
counts per status and its events: a few hundred bytes, whatever its size. Everything per
recipient and its index entries go (`deletion.Removing.drop_recipients`). From the first step
(`archiving` set, retire.lua) webhooks count its callbacks as `late` and change nothing, so
the report written is the campaign's last word.
"""

import json
from typing import Any

from broadcaster.campaigns import CampaignState

from .base import StoreBase
from .deletion import Removal, Removing

__all__ = ["Archiving"]

_FINISHED = (CampaignState.COMPLETED.encode(), CampaignState.CANCELLED.encode())


class Archiving(Removing, StoreBase):
    """Archiving campaigns (a part of `CampaignStore`)."""

    def begin_archive(self, cid: str) -> int:
        """Freeze a finished campaign for its archive; its total.

        Raises:
            CampaignNotFound, CampaignStateError (not completed or cancelled, being deleted,
            sends in flight).
        """
        return self.retire(cid, "archive")

    def record_archive(self, cid: str, location: str, failures: list[dict[str, Any]]) -> None:
        """Note where the report was written and the failure reasons to keep."""
        fields = {"archive": location, "failures": json.dumps(failures)}
        self.redis.hset(self.keys.campaign(cid), mapping=fields)

    def finish_archive(self, cid: str, total: int) -> Removal:
        """Remove the recipients of a campaign whose report is archived."""
        removal = self.drop_recipients(cid, total)
        self.redis.hset(self.keys.campaign(cid), "archived_at", self.clock())
        return removal

    def archived_failures(self, cid: str) -> list[dict[str, Any]]:
        """The failure reasons an archived campaign kept (`code`, `reason`, `count`)."""
        raw = self.redis.hget(self.keys.campaign(cid), "failures")
        return list(json.loads(raw)) if raw else []

    def archive_candidates(self, finished_before: float) -> list[str]:
        """Ids of completed or cancelled campaigns finished before `finished_before` and not
        archived yet (oldest first), and of archives cut short."""
        k = self.keys
        raw = self.redis.zrangebyscore(k.campaigns(), "-inf", finished_before)
        ids = [i.decode() for i in raw]
        pipe = self.redis.pipeline(transaction=False)
        for cid in ids:
            pipe.hmget(k.campaign(cid), "state", "finished_at", "archived_at")
        found = []
        for cid, (state, finished, archived) in zip(ids, pipe.execute(), strict=True):
            if archived or state not in _FINISHED:
                continue
            if finished and float(finished) <= finished_before:
                found.append(cid)
        return found
