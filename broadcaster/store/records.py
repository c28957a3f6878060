"""Campaign records: create a campaign with its recipients, read it back, list, delete."""

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

import redis

from broadcaster.campaigns import Campaign, CampaignState, RecipientStatus
from broadcaster.contacts import Contact
from broadcaster.errors import CampaignInvalid, CampaignNotFound, StoreFull
from broadcaster.keys import BUCKET_SIZE
from broadcaster.pools import assign
from broadcaster.timezones import TIMEZONE_COLUMN, recipient_zone

from .base import StoreBase, pack

__all__ = ["DEFAULT_IMPORT_BATCH", "DEFAULT_RATE_WINDOW", "CampaignRecords"]

#: Timezones a campaign's recipients may be in (one byte each, 0 the calendar's own).
MAX_ZONES = 255

#: Recipients written per pipeline while importing.
DEFAULT_IMPORT_BATCH = 5_000
#: Seconds over which the current send rate is measured.
DEFAULT_RATE_WINDOW = 20.0


class CampaignRecords(StoreBase):
    """Creation and reading of campaigns (a part of `CampaignStore`)."""

    def create(self, campaign: Campaign, contacts: Iterable[Contact], *, window: int) -> Campaign:
        """Store a campaign and its recipients; it is listed only once every recipient is in.

        Returns the campaign with its `total` and `created_at` set.

        Raises:
            StoreFull: Redis reached its `maxmemory` while the recipients were written (what
                was written is deleted).
        """
        cid, written = campaign.id, [0]
        try:
            return self._write(campaign, contacts, window, written)
        except redis.exceptions.OutOfMemoryError as exc:
            self.delete(cid)
            raise StoreFull(
                f"Redis ran out of memory after {written[0]:,} recipients of this campaign (its "
                "maxmemory is reached; nothing was kept): delete finished campaigns or raise "
                "Redis's maxmemory, then try again"
            ) from exc
        except BaseException:
            self.delete(cid)
            raise

    def _write(
        self, campaign: Campaign, contacts: Iterable[Contact], window: int, written: list[int]
    ) -> Campaign:
        k, cid, names = self.keys, campaign.id, campaign.variables
        pipe = self.redis.pipeline(transaction=False)
        buckets: dict[int, dict[str, str]] = {}
        zones = _Zones(campaign)
        pool = campaign.pool() if len(campaign.pool()) > 1 else None
        senders = bytearray()
        for contact in contacts:
            bucket, field = divmod(written[0], BUCKET_SIZE)
            buckets.setdefault(bucket, {})[str(field)] = pack(contact, names)
            zones.add(contact)
            if pool is not None:
                senders.append(assign(contact.phone, pool))
            written[0] += 1
            if written[0] % DEFAULT_IMPORT_BATCH == 0:
                self._flush(pipe, cid, buckets)
        self._flush(pipe, cid, buckets)
        total, now = written[0], self.clock()
        summary = getattr(contacts, "summary", None)
        stored = dataclasses.replace(
            campaign,
            total=total,
            created_at=now,
            state=CampaignState.DRAFT,
            summary=summary.to_dict() if summary is not None else campaign.summary,
            zones=tuple(zones.names),
        )
        if zones.names:
            pipe.set(k.zones(cid), bytes(zones.numbers))
        if senders:
            pipe.set(k.senders(cid), bytes(senders))
        fields = stored.to_redis() | {"window": str(window), "cursor": "0"}
        pipe.hset(k.campaign(cid), mapping=fields)
        if total:
            pipe.setrange(k.status(cid), total - 1, "\x00")
            pipe.setrange(k.meta(cid), total * 5 - 1, "\x00")
        pipe.hset(
            k.counts(cid),
            mapping={s.label: 0 for s in RecipientStatus} | {"pending": total},
        )
        pipe.rpush(k.events(cid), json.dumps({"t": now, "event": "created", "total": total}))
        if total:  # an empty campaign is never listed (launch refuses and deletes it)
            pipe.zadd(k.campaigns(), {cid: now})
        pipe.execute()
        return stored

    def _flush(self, pipe: Any, cid: str, buckets: dict[int, dict[str, str]]) -> None:
        for bucket, mapping in buckets.items():
            pipe.hset(self.keys.recipients(cid, bucket), mapping=mapping)
        pipe.execute()
        buckets.clear()

    def get(self, cid: str) -> Campaign:
        """The campaign, or CampaignNotFound."""
        data = self.redis.hgetall(self.keys.campaign(cid))
        if not data or b"total" not in data:
            raise CampaignNotFound(cid)
        return Campaign.from_redis(data)

    def state(self, cid: str) -> CampaignState:
        """The campaign's state alone (one cheap read)."""
        raw = self.redis.hget(self.keys.campaign(cid), "state")
        if raw is None:
            raise CampaignNotFound(cid)
        return CampaignState(raw.decode())

    def list_campaigns(self, *, limit: int = 50, offset: int = 0) -> list[Campaign]:
        """Campaigns, newest first."""
        ids = self.redis.zrevrange(self.keys.campaigns(), offset, offset + limit - 1)
        pipe = self.redis.pipeline(transaction=False)
        for cid in ids:
            pipe.hgetall(self.keys.campaign(cid.decode()))
        return [Campaign.from_redis(d) for d in pipe.execute() if d]

    def campaign_count(self) -> int:
        """How many campaigns are listed."""
        return int(self.redis.zcard(self.keys.campaigns()))

    def counts(self, cid: str) -> dict[str, int]:
        """Recipients per status label; they add up to the campaign's total."""
        raw = self.redis.hgetall(self.keys.counts(cid))
        return {s.label: int(raw.get(s.label.encode(), 0)) for s in RecipientStatus}

    def recent_sends(self, cid: str, *, window: float = DEFAULT_RATE_WINDOW) -> int:
        """Requests that reached Replai in the last `window` seconds (at most 60)."""
        now = self.clock()
        sent = 0
        for value in self.redis.hvals(self.keys.recent(cid)):
            second, _, count = value.decode().partition(":")
            if now - window <= int(second) <= now:
                sent += int(count)
        return sent

    def events(self, cid: str) -> list[dict[str, Any]]:
        """The campaign's event log, oldest first."""
        return [json.loads(e) for e in self.redis.lrange(self.keys.events(cid), 0, -1)]


class _Zones:
    """The timezone number of each recipient of a campaign read in its recipients' own time
    (`timezones.recipient_zone`): 0 the calendar's, n the n-th of `names`."""

    def __init__(self, campaign: Campaign) -> None:
        calendar = campaign.calendar
        self.default = calendar.tz if calendar is not None and calendar.local else None
        self.names: list[str] = []
        self.numbers = bytearray()

    def add(self, contact: Contact) -> None:
        if self.default is None:
            return
        try:
            override = contact.variables.get(TIMEZONE_COLUMN)
            name = recipient_zone(contact.phone, override, self.default)
        except CampaignInvalid as exc:
            raise CampaignInvalid(f"line {contact.line}: {exc}") from None
        number = 0
        if name != self.default:
            if name not in self.names:
                if len(self.names) == MAX_ZONES:
                    raise CampaignInvalid(f"recipients in more than {MAX_ZONES} timezones")
                self.names.append(name)
            number = self.names.index(name) + 1
        self.numbers.append(number)
