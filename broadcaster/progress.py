"""Where a campaign stands, in one vocabulary for the command line, the API and the page.

Recipient statuses say where each recipient is (`RecipientStatus`: `queued`, `paced` for
waiting on a rate-limit slot, `waiting` for a retry after an error...). A campaign's
`activity` says in a few words what the campaign as a whole is doing now: `scheduled`,
`sending`, `pacing` (every open recipient waits for a rate-limit slot), `waiting for hours`
(outside its sending calendar, `next_at` is the next opening), `retrying` (only retries are
left), `paused`, `completed`... With a calendar, `eta` counts only open hours: with recipients
in several timezones, each timezone's own, the rate shared by those open (`estimate`). `rate`
is the send rate over the last 20 seconds (requests that reached Replai), None when nothing
was sent in that time.
"""

import dataclasses
import datetime
from collections.abc import Mapping

from .calendar import zone
from .campaigns import OPEN_STATUSES, Campaign, CampaignState, RecipientStatus
from .estimate import finish_time, open_per_zone
from .store import CampaignStore
from .store.records import DEFAULT_RATE_WINDOW

__all__ = ["ACTIVITIES", "Progress", "campaign_progress"]

#: Every `Progress.activity`, with its meaning.
ACTIVITIES = {
    "not started": "stored, not started yet",
    "scheduled": "waiting for its start time",
    "sending": "recipients are queued for or in the workers",
    "pacing": "every open recipient waits for a rate-limit slot",
    "waiting for hours": "outside its sending hours: it sends again by itself when they open",
    "retrying": "only recipients waiting to retry after an error are left",
    "finishing": "the last outcomes are being recorded",
    "paused": "paused: nothing is sent until it is resumed",
    "cancelled": "cancelled: recipients not sent are never sent",
    "completed": "every recipient is finished",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Progress:
    """Where a campaign stands.

    Args:
        counts: recipients per status label (they add up to `total`).
        done: recipients in a final status.
        rate: requests sent per second over the last 20 s; None when none was sent.
        eta: seconds to go at that rate (or, while it waits, at the rate it was launched at),
            counting only its open hours; None when not known.
        activity: what the campaign does now (one of `ACTIVITIES`).
        next_at: for `scheduled`, when it starts; for `waiting for hours`, when they open
            (seconds since the epoch).
        limited_by: the tightest limit on its pace (`limits.Limit.describe`); a sender pool's:
            its senders' together, or its own rate when that is lower.
        limited_by_sender: a sender pool's: per sender, the limit that holds its sends (its
            own rate, or its account's when the pool's senders on it share it).
        sharing: other running campaigns on the same account and route family.
    """

    campaign_id: str
    state: str
    reason: str | None
    total: int
    counts: Mapping[str, int]
    done: int
    rate: float | None
    eta: float | None
    activity: str
    next_at: float | None = None
    limited_by: str | None = None
    sharing: int = 0
    #: The timezone `describe` shows an opening in.
    tz: str = "UTC"
    #: A sender pool's share: recipients sent per sender (empty without a pool).
    per_sender: Mapping[str, int] = dataclasses.field(default_factory=dict)
    #: The pool's senders taken out of the campaign, with their reason.
    senders_out: Mapping[str, str] = dataclasses.field(default_factory=dict)
    limited_by_sender: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def percent(self) -> float:
        """Finished recipients as a percentage of the total."""
        return 100.0 * self.done / self.total if self.total else 100.0

    @property
    def open(self) -> int:
        """Recipients not finished yet."""
        return self.total - self.done

    def describe(self) -> str:
        """The activity in words for people: `sending at 118/min`, `scheduled for ...`."""
        if self.activity == "scheduled" and self.next_at:
            when = datetime.datetime.fromtimestamp(self.next_at, datetime.UTC)
            return f"scheduled for {when:%Y-%m-%d %H:%M} UTC"
        if self.activity == "waiting for hours" and self.next_at:
            opens = datetime.datetime.fromtimestamp(self.next_at, zone(self.tz))
            return f"waiting for its sending hours: they open {opens:%a %Y-%m-%d %H:%M} {self.tz}"
        if self.activity == "paused" and self.reason:
            return f"paused: {self.reason}"
        if self.activity == "completed" and self.counts.get("expired"):
            return f"completed: {self.counts['expired']:,} expired (not sent by its expires_at)"
        if self.activity not in ("sending", "pacing"):
            return self.activity
        text = self.activity
        if self.rate is not None:
            text += f" at {self.rate * 60:,.0f}/min"
        if self.limited_by:
            text += f", held by {self.limited_by}"
        if self.sharing:
            others = "campaign" if self.sharing == 1 else "campaigns"
            text += f", shared with {self.sharing} other running {others}"
        if self.senders_out:
            out = "; ".join(f"{s} ({why})" for s, why in self.senders_out.items())
            text += f", sender out: {out}"
        return text


def campaign_progress(store: CampaignStore, campaign_id: str) -> Progress:
    """Counts per status, the current send rate, the time to go and the activity."""
    campaign = store.get(campaign_id)
    counts = store.counts(campaign_id)
    open_ = sum(counts[s.label] for s in OPEN_STATUSES)
    rate = None
    if campaign.state == CampaignState.RUNNING and campaign.started_at:
        elapsed = max(1.0, min(DEFAULT_RATE_WINDOW, store.clock() - campaign.started_at))
        sent = store.recent_sends(campaign_id, window=elapsed)
        rate = sent / elapsed if sent else None
    now = store.clock()
    activity = _activity(campaign, counts)
    opens = _opening(campaign, counts, now) if activity not in _STILL else None
    next_at = campaign.send_at if campaign.state == CampaignState.SCHEDULED else None
    return Progress(
        campaign_id=campaign_id,
        state=campaign.state.value,
        reason=campaign.reason,
        total=campaign.total,
        counts=counts,
        done=campaign.total - open_,
        rate=rate,
        eta=_eta(store, campaign, open_, rate, now),
        activity="waiting for hours" if opens is not None else activity,
        next_at=opens if opens is not None else next_at,
        limited_by=campaign.limited_by,
        sharing=_sharing(store, campaign) if campaign.state == CampaignState.RUNNING else 0,
        tz=campaign.calendar.tz if campaign.calendar else "UTC",
        per_sender=store.sent_per_sender(campaign_id, campaign.pool()) if campaign.senders else {},
        senders_out=store.senders_out(campaign_id) if campaign.senders else {},
        limited_by_sender=campaign.sender_limits,
    )


#: Activities in which a campaign does not wait for its hours.
_STILL = frozenset({"not started", "scheduled", "paused", "cancelled", "completed"})


def _opening(campaign: Campaign, counts: Mapping[str, int], now: float) -> float | None:
    """When a running campaign that sends nothing for its calendar opens next: every one of
    its timezones is closed, or its only open recipients wait for their hours. None else."""
    calendar = campaign.calendar
    if calendar is None:
        return None
    zones = campaign.zone_names()
    only_off = counts["off_hours"] and not any(
        counts[s.label] for s in OPEN_STATUSES if s != RecipientStatus.OFF_HOURS
    )
    if not only_off and any(calendar.is_open(now, tz) for tz in zones):
        return None
    openings = [t for tz in zones if (t := calendar.next_open(now, tz)) and t > now]
    return min(openings, default=None)


def _eta(
    store: CampaignStore, campaign: Campaign, left: int, rate: float | None, now: float
) -> float | None:
    """Seconds to go: at the current rate (else the launch's), counting only open hours, each
    timezone's own with per-recipient timezones (the model: `estimate`)."""
    per_second = rate or (campaign.pace_per_minute or 0) / 60
    if not left or not per_second or campaign.state != CampaignState.RUNNING:
        return left / rate if rate else None
    if campaign.calendar is None:
        return left / per_second if rate else None
    finish = finish_time(campaign.calendar, _left_per_zone(store, campaign, left), per_second, now)
    return finish - now if finish is not None else None


def _left_per_zone(store: CampaignStore, campaign: Campaign, left: int) -> dict[str, int]:
    """The campaign's recipients not finished, per timezone name."""
    names = campaign.zone_names()
    if len(names) < 2:
        return {names[0]: left}
    pipe = store.redis.pipeline(transaction=False)
    pipe.get(store.keys.status(campaign.id))
    pipe.get(store.keys.zones(campaign.id))
    statuses, zones = pipe.execute()
    counts = open_per_zone(statuses or b"", zones or b"", campaign.total, len(names))
    out: dict[str, int] = {}
    for name, n in zip(names, counts, strict=True):
        out[name] = out.get(name, 0) + n
    return out


def _sharing(store: CampaignStore, campaign: Campaign) -> int:
    """Other running campaigns on the campaign's account and route family."""
    others = [cid for cid in store.running_ids() if cid != campaign.id]
    if not others:
        return 0
    pipe = store.redis.pipeline(transaction=False)
    for cid in others:
        pipe.hmget(store.keys.campaign(cid), "account", "channel")
    mine = ((campaign.account or "").encode(), str(campaign.channel).encode())
    return sum(1 for account, channel in pipe.execute() if (account or b"", channel) == mine)


def _activity(campaign: Campaign, counts: Mapping[str, int]) -> str:
    state = campaign.state
    if state == CampaignState.DRAFT:
        return "not started"
    if state != CampaignState.RUNNING:
        return state.value
    if counts["queued"] or counts["sending"] or counts["pending"]:
        return "sending"
    if counts["paced"]:
        return "pacing"
    if counts["off_hours"]:
        return "waiting for hours"
    if counts["waiting"]:
        return "retrying"
    return "finishing"
