"""Removing a campaign's data from Redis in bounded steps: delete it, or drop what an archive
keeps elsewhere.

Nothing here blocks Redis for long, whatever the campaign's size: recipients are taken
`DEFAULT_STEP_BUCKETS` buckets (200 recipients) at a time. Their message-id index entries go
with plain HDELs in a pipeline (a message id is this campaign's alone); their phone index
entries in a short Lua step per bucket (unindex.lua: only those still pointing at this
campaign, since a later campaign may have messaged the number since); then their bucket
hashes with UNLINK (freed by Redis in the background). The campaign's
other keys are found with SCAN by its prefix and unlinked a batch at a time; UNLINK frees a
big hash or string outside Redis's main thread.

`delete_campaign` first takes the campaign out of every list in one Lua step (retire.lua),
refused while it runs or has sends in flight; a removal cut short (a crash) is finished by
asking again.
"""

import dataclasses
from collections.abc import Iterator
from typing import Any

from broadcaster.errors import CampaignNotFound, CampaignStateError
from broadcaster.keys import BUCKET_SIZE

from .base import ERASED, StoreBase, digest

__all__ = ["DEFAULT_STEP_BUCKETS", "Removal", "Removing"]

#: Recipient buckets handled per step (200 recipients: about 400 index entries).
DEFAULT_STEP_BUCKETS = 2
#: Keys unlinked per command.
DEFAULT_UNLINK_BATCH = 200
_SEP = "\x1f"


@dataclasses.dataclass(frozen=True, slots=True)
class Removal:
    """What a deletion or an archive took out of Redis."""

    campaign_id: str
    recipients: int
    keys: int
    index_entries: int


class Removing(StoreBase):
    """Deleting campaigns and dropping archived data (a part of `CampaignStore`)."""

    def retire(self, cid: str, mode: str) -> int:
        """retire.lua: take a campaign out for `mode` ("delete" or "archive"); its total.

        Raises:
            CampaignNotFound, CampaignStateError (running, scheduled, sends in flight).
        """
        k = self.keys
        keys = [
            k.campaign(cid), k.status(cid), k.active(cid), k.counts(cid), k.campaigns(),
            k.running(), k.scheduled(),
        ]  # fmt: skip
        result = self.script("retire.lua")(keys=keys, args=[cid, mode, self.clock()])
        if result[0] == b"err":
            message = result[1].decode()
            if message == "campaign not found":
                raise CampaignNotFound(cid)
            raise CampaignStateError(message)
        return int(result[1])

    def delete_campaign(self, cid: str) -> Removal:
        """Delete a campaign that is not running: every key of it and its index entries."""
        total = self.retire(cid, "delete")
        self.redis.zrem(self.keys.expiring(), cid)
        return self._remove(cid, total, keep=())

    def delete(self, cid: str) -> None:
        """Remove a campaign and all its keys whatever its state (a launch that failed)."""
        total = self.redis.hget(self.keys.campaign(cid), "total")
        self.redis.zrem(self.keys.campaigns(), cid)
        self.redis.srem(self.keys.running(), cid)
        self.redis.zrem(self.keys.scheduled(), cid)
        self.redis.zrem(self.keys.expiring(), cid)
        self._remove(cid, int(total or 0), keep=())

    def drop_recipients(self, cid: str, total: int) -> Removal:
        """Remove a campaign's per-recipient data and index entries, keeping its fields,
        counts and events (what an archived campaign keeps)."""
        k = self.keys
        return self._remove(cid, total, keep=(k.campaign(cid), k.counts(cid), k.events(cid)))

    def _remove(self, cid: str, total: int, *, keep: tuple[str, ...]) -> Removal:
        entries = keys = 0
        buckets = -(-total // BUCKET_SIZE)
        for first in range(0, buckets, DEFAULT_STEP_BUCKETS):
            stop = min(buckets, first + DEFAULT_STEP_BUCKETS)
            entries += self._unindex(cid, range(first, stop))
            names = [self.keys.recipients(cid, b) for b in range(first, stop)]
            names += [self.keys.message_ids(cid, b) for b in range(first, stop)]
            keys += int(self.redis.unlink(*names))
        keys += self._unlink_rest(cid, keep)
        self._vars.pop(cid, None)
        return Removal(cid, total, keys, entries)

    def _unindex(self, cid: str, buckets: range) -> int:
        """Remove the index entries of the recipients in `buckets` (one Lua step)."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        for b in buckets:
            pipe.hgetall(k.recipients(cid, b))
            pipe.hgetall(k.message_ids(cid, b))
        replies = pipe.execute()
        pipe = self.redis.pipeline(transaction=False)
        unindex = self.script("unindex.lua")
        for n, b in enumerate(buckets):
            records, mids = replies[2 * n], replies[2 * n + 1]
            for mid in mids.values():
                pipe.hdel(k.msgindex(mid.decode()), digest(mid.decode()))
            names: list[str] = []
            args: list[Any] = []
            for field, record in records.items():
                phone = record.decode().partition(_SEP)[0]
                if phone and not phone.startswith(ERASED):
                    names.append(k.by_phone(phone))
                    args += [phone, f"{cid}:{b * BUCKET_SIZE + int(field)}"]
            if names:
                unindex(keys=names, args=args, client=pipe)
        return sum(int(n) for n in pipe.execute())

    def _unlink_rest(self, cid: str, keep: tuple[str, ...]) -> int:
        removed = 0
        for batch in _batches(self._campaign_keys(cid), DEFAULT_UNLINK_BATCH):
            names = [n for n in batch if n not in keep]
            if names:
                removed += int(self.redis.unlink(*names))
        if self.keys.campaign(cid) not in keep:
            removed += int(self.redis.unlink(self.keys.campaign(cid)))
        return removed

    def _campaign_keys(self, cid: str) -> Iterator[str]:
        """Every key under the campaign's prefix `{prefix}:c:{cid}:` (SCAN, in steps)."""
        pattern = self.keys.campaign(cid) + ":*"
        for name in self.redis.scan_iter(match=pattern, count=1000):
            yield name.decode() if isinstance(name, bytes) else name


def _batches(names: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for name in names:
        batch.append(name)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
