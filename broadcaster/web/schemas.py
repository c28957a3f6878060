"""Request and response bodies of the HTTP API (pydantic models; they make the OpenAPI)."""

import dataclasses
import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from broadcaster.campaigns import Campaign, Channel, RecipientStatus
from broadcaster.operations import CampaignRequest, TrialResult
from broadcaster.progress import Progress
from broadcaster.store import RecipientRow, SuppressionEntry

__all__ = [
    "STATUS_PATTERN",
    "ActionResult",
    "CampaignCreate",
    "CampaignCreated",
    "CampaignDetail",
    "CampaignFields",
    "CampaignItem",
    "CampaignOut",
    "CampaignPage",
    "CampaignUpload",
    "ConfirmIn",
    "ErrorOut",
    "HealthOut",
    "MemoryOut",
    "ProgressOut",
    "RecipientOut",
    "RecipientPage",
    "SenderShareOut",
    "SuppressionAdded",
    "SuppressionImported",
    "SuppressionIn",
    "SuppressionPage",
    "SuppressionRemoved",
    "TrialSendIn",
    "TrialSendOut",
    "TrialSendResult",
    "WebhookAck",
    "timestamp",
]

#: A regular expression matching every recipient status label (for `?status=`).
STATUS_PATTERN = "^(" + "|".join(s.label for s in RecipientStatus) + ")$"


def timestamp(value: float | None) -> datetime.datetime | None:
    """Seconds since the epoch as an aware UTC datetime (None and 0 stay None)."""
    if not value:
        return None
    return datetime.datetime.fromtimestamp(value, tz=datetime.UTC)


class ErrorOut(BaseModel):
    """Every error: what went wrong and what to do (some errors add fields, e.g. `errors`)."""

    model_config = ConfigDict(extra="allow")

    detail: str


class CampaignFields(BaseModel):
    """The campaign's message and schedule, as a form (with a contact file) or in a JSON body."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    channel: Channel = Channel.WABA
    sender: str = Field(min_length=1, description="WABA id (waba) or device id (device).")
    senders: list[str] = Field(
        default_factory=list, max_length=254,
        description="More senders: a pool with `sender`; each recipient is sent by one of them.",
    )  # fmt: skip
    text: str | None = Field(default=None, description="A text with {column} placeholders.")
    template: str | None = Field(default=None, description="A template name (or id).")
    language: str = "id"
    params: list[str] = Field(
        default_factory=list,
        description="Template parameters: a column name, or a literal (repeat the field).",
    )
    send_at: datetime.datetime | None = Field(
        default=None, description="ISO 8601 start time; without an offset it is UTC."
    )
    rate_per_minute: float | None = Field(default=None, gt=0)
    phone_column: str | None = Field(
        default=None,
        description="The phone column; by default the phone columns are found by name and "
        "ranked, and each row uses the best that holds a mobile number.",
    )
    account: str | None = Field(
        default=None, description="Replai account to send through (default: the sender's)."
    )
    hours: str | None = Field(
        default=None,
        description="Sending hours: '09:00-17:00' (with days; '22:00-02:00' crosses midnight), "
        "or rules 'mon-fri 09:00-17:00; sat 10:00-14:00'; 'always' for none. Default: the "
        "deployment's (BROADCASTER_SENDING_HOURS).",
    )
    days: str | None = Field(default=None, description="Days for hours: 'mon-fri', 'sat,sun'.")
    tz: str | None = Field(
        default=None, description="The hours' timezone (IANA, e.g. Asia/Jakarta)."
    )
    blackout: list[str] = Field(
        default_factory=list, description="Dates (YYYY-MM-DD) nothing is sent (repeatable)."
    )
    local_time: bool = Field(
        default=True,
        description="Read the hours in each recipient's own timezone where known (the "
        "'timezone' column, else the number's); false: in tz for everyone.",
    )
    expires_at: datetime.datetime | None = Field(
        default=None,
        description="ISO 8601; recipients not sent by then end 'expired'. Without an offset "
        "it is UTC.",
    )
    events_url: str | None = Field(
        default=None,
        description="Where this campaign's events are POSTed too, signed per Standard "
        "Webhooks (docs/events.md).",
    )
    events_secret: str | None = Field(
        default=None,
        description="The signing secret for events_url (whsec_...; default: the "
        "deployment's BROADCASTER_EVENTS_SECRET).",
    )

    def start_time(self) -> float | None:
        """`send_at` in seconds since the epoch (a naive time is read as UTC)."""
        return _utc(self.send_at)

    def request(self) -> CampaignRequest:
        """The campaign these fields ask for (`operations.launch`)."""
        return CampaignRequest(
            sender=self.sender, text=self.text, template=self.template, language=self.language,
            senders=self.senders, params=self.params, channel=self.channel, name=self.name,
            send_at=self.start_time(), rate_per_minute=self.rate_per_minute,
            phone_column=self.phone_column, account=self.account, hours=self.hours,
            days=self.days, tz=self.tz, blackout=self.blackout, local_time=self.local_time,
            expires_at=_utc(self.expires_at), events_url=self.events_url,
            events_secret=self.events_secret,
        )  # fmt: skip


def _utc(when: datetime.datetime | None) -> float | None:
    """Seconds since the epoch (a naive time is read as UTC)."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.timestamp()


class CampaignUpload(CampaignFields):
    """The form fields sent with a contact file (multipart)."""

    sheet: str | None = Field(
        default=None,
        description="The worksheet of a workbook (.xlsx, .xls, .ods); by default the first "
        "visible one.",
    )

    def request(self) -> CampaignRequest:
        """The campaign these fields ask for, reading the sheet named (`operations.launch`)."""
        return dataclasses.replace(super().request(), sheet=self.sheet)


class CampaignCreate(CampaignFields):
    """A campaign in a JSON body: the fields and the recipients."""

    recipients: list[dict[str, Any]] = Field(
        min_length=1,
        description='Rows like {"phone": "0812...", "name": "Budi"}; other keys are variables.',
    )


class CampaignOut(BaseModel):
    """A stored campaign."""

    id: str
    name: str
    channel: str
    sender: str
    senders: list[str]
    text: str | None
    template: str | None
    language: str
    params: list[str]
    send_at: datetime.datetime | None
    rate_per_minute: float | None
    account: str | None
    calendar: str | None = Field(
        description="Its sending hours in words, e.g. 'mon-fri 09:00-17:00 (Asia/Jakarta)'; "
        "null: any time."
    )
    expires_at: datetime.datetime | None
    state: str
    reason: str | None
    total: int
    created_at: datetime.datetime | None
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    replies: int = Field(description="Replies received from recipients.")
    opted_out: int = Field(description="Recipients who replied with an opt-out keyword.")
    archived_at: datetime.datetime | None = Field(
        default=None,
        description="When its recipients left Redis for its archived report (retention).",
    )

    @classmethod
    def of(cls, c: Campaign) -> "CampaignOut":
        """From a stored campaign."""
        return cls(
            id=c.id, name=c.name, channel=c.channel, sender=c.sender, senders=c.pool(),
            text=c.text,
            template=c.template, language=c.language, params=list(c.params),
            send_at=timestamp(c.send_at), rate_per_minute=c.rate_per_minute, account=c.account,
            calendar=c.calendar.describe() if c.calendar else None,
            expires_at=timestamp(c.expires_at), state=c.state.value, reason=c.reason,
            total=c.total, created_at=timestamp(c.created_at), started_at=timestamp(c.started_at),
            finished_at=timestamp(c.finished_at), replies=c.replies, opted_out=c.opted_out,
            archived_at=timestamp(c.archived_at),
        )  # fmt: skip


class ProgressOut(BaseModel):
    """Where a campaign stands (see `broadcaster.progress`)."""

    state: str
    activity: str = Field(
        description="What the campaign does now: not started, scheduled, sending, pacing "
        "(waiting for rate-limit slots), waiting for hours (outside its sending calendar), "
        "retrying, finishing, paused, cancelled, completed."
    )
    description: str = Field(description="The activity in words, e.g. 'sending at 118/min'.")
    reason: str | None
    total: int
    counts: dict[str, int] = Field(
        description="Recipients per status: "
        + ", ".join(f"{s.label} ({s.meaning})" for s in RecipientStatus)
    )
    done: int
    percent: float
    rate: float | None = Field(
        description="Requests sent per second over the last 20 s; null when none was."
    )
    eta: float | None = Field(
        description="Seconds to go at that rate (or the launch's), counting only open hours."
    )
    next_at: datetime.datetime | None = Field(
        description="When a scheduled campaign starts, or its sending hours open next."
    )
    limited_by: str | None = Field(
        description="The tightest limit on its pace (a sender pool's: its senders together, or "
        "its own rate when lower)."
    )
    sharing: int = Field(description="Other running campaigns on its account and route family.")
    per_sender: dict[str, int] = Field(
        default_factory=dict, description="A sender pool's share: recipients sent per sender."
    )
    senders_out: dict[str, str] = Field(
        default_factory=dict, description="The pool's senders taken out, with their reason."
    )
    limited_by_sender: dict[str, str] = Field(
        default_factory=dict,
        description="A sender pool's: per sender, the limit that holds its sends (its own "
        "rate, or its account's when the pool's senders on it share it).",
    )

    @classmethod
    def of(cls, p: Progress) -> "ProgressOut":
        """From `campaign_progress()`."""
        return cls(
            state=p.state, activity=p.activity, description=p.describe(), reason=p.reason,
            total=p.total, counts=dict(p.counts), done=p.done, percent=round(p.percent, 2),
            rate=round(p.rate, 3) if p.rate is not None else None,
            eta=round(p.eta, 1) if p.eta is not None else None, next_at=timestamp(p.next_at),
            limited_by=p.limited_by, sharing=p.sharing, per_sender=dict(p.per_sender),
            senders_out=dict(p.senders_out), limited_by_sender=dict(p.limited_by_sender),
        )  # fmt: skip


class CampaignItem(CampaignOut):
    """A campaign with its progress."""

    progress: ProgressOut


class SenderShareOut(BaseModel):
    """One sender of a pool and its share of the campaign."""

    sender: str
    sent: int = Field(description="Recipients it sent to (sent, delivered or read).")
    remaining: int = Field(
        description="Recipients not finished that are assigned to it (a sender taken out: "
        "they move to the others when they come up to send)."
    )
    state: str = Field(description="sending, done (nothing left for it), or out.")
    out_reason: str | None = Field(description="Why it was taken out of the pool.")


class CampaignDetail(CampaignItem):
    """A campaign with its progress and import summary."""

    summary: dict[str, Any]
    pool: list[SenderShareOut] = Field(
        default_factory=list, description="A sender pool's senders with their share; [] for one."
    )


class CampaignPage(BaseModel):
    """Campaigns, newest first."""

    offset: int
    limit: int
    total: int
    items: list[CampaignItem]


class CampaignCreated(BaseModel):
    """A stored campaign and what its import found (row errors with line numbers)."""

    id: str
    campaign: CampaignOut
    summary: dict[str, Any]


class RecipientOut(BaseModel):
    """One recipient as reports show it."""

    index: int
    phone: str
    status: str
    attempts: int
    updated_at: datetime.datetime | None
    message_id: str | None
    error: str | None
    reply: str | None
    reply_at: datetime.datetime | None = Field(None, description="the reply's own time")
    reply_kind: str | None = Field(
        None, description="text, button, interactive, reaction, image... (Meta's type)"
    )
    variables: dict[str, str]

    @classmethod
    def of(cls, row: RecipientRow) -> "RecipientOut":
        """From a store row."""
        return cls(
            index=row.index, phone=row.phone, status=row.status, attempts=row.attempts,
            updated_at=timestamp(row.updated_at), message_id=row.message_id,
            error=row.error, reply=row.reply, reply_at=timestamp(row.reply_at),
            reply_kind=row.reply_kind, variables=row.variables,
        )  # fmt: skip


class RecipientPage(BaseModel):
    """A page of a campaign's recipients, in file order."""

    campaign_id: str
    status: str | None
    offset: int
    limit: int
    total: int
    items: list[RecipientOut]


class CampaignDeleted(BaseModel):
    """What deleting a campaign removed from Redis."""

    id: str
    recipients: int
    keys: int = Field(description="Redis keys removed.")
    index_entries: int = Field(description="Message-id and phone index entries removed.")


class ActionResult(BaseModel):
    """What a control action did; `recipients` counts those cancelled or requeued."""

    id: str
    action: str
    state: str
    recipients: int | None = None
    note: str | None = Field(
        default=None,
        description="Set when the released sends could not be queued yet (broker down): the "
        "workers queue them once it is back.",
    )


class ConfirmIn(BaseModel):
    """An explicit yes for an action that may message people twice."""

    confirm: bool = False


class TrialSendIn(BaseModel):
    """Numbers to send the campaign's message to now, outside the campaign."""

    model_config = ConfigDict(extra="forbid")

    phones: list[str] = Field(min_length=1, max_length=10)
    variables: dict[str, str] = Field(
        default_factory=dict, description="Values for the message's {column} placeholders."
    )


class TrialSendResult(BaseModel):
    """One test send: the message id, or the reason it was not sent."""

    phone: str
    ok: bool
    message_id: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, result: TrialResult) -> "TrialSendResult":
        """From `operations.trial_send`."""
        return cls(
            phone=result.phone, ok=result.ok, message_id=result.message_id, error=result.error
        )


class TrialSendOut(BaseModel):
    """Test sends (not counted in the campaign)."""

    campaign_id: str
    results: list[TrialSendResult]


class SuppressionIn(BaseModel):
    """Numbers to put on the suppression list."""

    model_config = ConfigDict(extra="forbid")

    phones: list[str] = Field(min_length=1, max_length=10_000)


class SuppressedNumber(BaseModel):
    """A suppressed number, how it got on the list and when."""

    phone: str = Field(description="E.164 digits, without +")
    source: str = Field(
        description="keyword, button, user_preferences or failed_131050 (the person's "
        "opt-outs, from webhooks); manual or import (an operator's); legacy (listed before "
        "sources were kept)"
    )
    opted_out_at: datetime.datetime | None = Field(description="null when not known (legacy)")

    @classmethod
    def of(cls, entry: SuppressionEntry) -> "SuppressedNumber":
        """From a store entry."""
        return cls(phone=entry.phone, source=entry.source, opted_out_at=timestamp(entry.at))


class SuppressionPage(BaseModel):
    """Suppressed numbers (E.164 digits) with their source and time, sorted by number."""

    offset: int
    limit: int
    total: int
    items: list[SuppressedNumber]


class SuppressionAdded(BaseModel):
    """Numbers added (those already on the list are not counted)."""

    added: int
    phones: list[str]


class SuppressionRemoved(BaseModel):
    """A number taken off the suppression list."""

    phone: str
    removed: bool


class SuppressionImported(BaseModel):
    """A CSV of numbers put on the list; `summary.suppressed` counts those already on it."""

    added: int
    summary: dict[str, Any]


class WebhookHealth(BaseModel):
    """Webhook counters (`store.WebhookStats`): none of them makes the app unhealthy.

    Message ids whose callbacks wait for their send to be recorded: `waiting`, and `overdue`
    (past BROADCASTER_WEBHOOK_HOLD_SECONDS, cleared at the next callback). Callbacks since
    the store was created: `held`, `released` (applied when the send was recorded), `expired`
    (waited in vain: those statuses were lost), `dropped` (the hold was full), `errors`
    (Meta's value-level errors), `skipped` (events no recipient could take), `late` (for an
    archived campaign: ignored).
    """

    waiting: int
    overdue: int
    held: int
    released: int
    expired: int
    dropped: int
    errors: int
    skipped: int
    late: int = 0


class MemoryOut(BaseModel):
    """Redis's memory: `used_memory` against `maxmemory` (None: no limit set)."""

    used: int
    max: int | None
    #: The free share of maxmemory (None without a limit).
    headroom: float | None
    #: BROADCASTER_REDIS_MIN_HEADROOM: below it the check fails.
    min_headroom: float


class HealthOut(BaseModel):
    """Each part is "ok" or the problem; `workers` counts live worker processes; `memory` is
    Redis's (None when Redis cannot be reached)."""

    status: Literal["ok", "failing"]
    redis: str
    broker: str
    workers: int
    memory: MemoryOut | None = None
    webhooks: WebhookHealth | None = None


class WebhookAck(BaseModel):
    """What a webhook call changed."""

    ok: bool = True
    duplicate: bool = False
    statuses: int = 0
    held: int = Field(0, description="callbacks waiting for their send to be recorded")
    ignored: int = 0
    replies: int = 0
    opted_out: int = 0
    resumed: int = Field(0, description="opt-outs lifted by a user_preferences resume")
