"""Campaign data: what to send, to whom, and where each recipient stands."""

import dataclasses
import enum
import json
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from .calendar import Calendar
from .channels import Channel
from .errors import CampaignInvalid

__all__ = [
    "OPEN_STATUSES",
    "SLOT_HORIZON",
    "TERMINAL_STATUSES",
    "Campaign",
    "CampaignState",
    "Channel",
    "RecipientStatus",
    "check_columns",
    "dispatch_window",
    "new_campaign_id",
    "placeholders",
    "render",
]

#: Longest a worker holds a send waiting for its sender's next rate-limit slot (seconds).
SLOT_HORIZON = 2.0


def dispatch_window(limit: int, rate_per_minute: float, batch: int, senders: int = 1) -> int:
    """Recipients a campaign keeps queued or in flight: at most `limit`, and no more than its
    sender's rate can send within SLOT_HORIZON (but at least one send task's worth); for a
    pool of `senders`, POOL_SLACK times that.

    A recipient released beyond what the rate can send soon would find no slot within the
    horizon and go back to wait, over and over: at 60 a minute a window of 512 would turn
    most of the worker's effort into such round trips. A pool's recipients are spread over its
    senders by hash, not in turn, so a window of exactly the pool's 2 s holds fewer than 2 s
    for some sender about half the time, and that sender idles: the slack keeps each one fed.
    """
    useful = math.ceil(rate_per_minute / 60.0 * SLOT_HORIZON * (POOL_SLACK if senders > 1 else 1))
    return max(1, min(limit, max(batch, useful)))


#: How many times a pool's SLOT_HORIZON of sends its window holds (`dispatch_window`).
POOL_SLACK = 2


_PLACEHOLDER = re.compile(r"\{([^{}\n]+)\}")


class CampaignState(enum.StrEnum):
    """Where a campaign is in its life."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class RecipientStatus(enum.IntEnum):
    """A recipient's status; the value is the byte stored for it in Redis.

    The Lua scripts get these numbers and labels from this class (`store.scripts`), so a
    status is added here and nowhere else.
    """

    PENDING = 0  # not released yet
    QUEUED = 1  # released into the broker queue
    SENDING = 2  # claimed by a worker, request may be in flight
    WAITING = 3  # waiting to be retried after an error
    SENT = 4
    DELIVERED = 5
    READ = 6
    FAILED = 7
    SKIPPED = 8  # suppressed (opted out) before its turn
    CANCELLED = 9
    UNKNOWN = 10  # its worker died while the request may have left: never resent silently
    PACED = 11  # waiting for a rate-limit slot (or the daily cap): nothing went wrong
    EXPIRED = 12  # not sent by the campaign's expires_at: never sent now, not a failure
    OFF_HOURS = 13  # outside its sending hours: waits for the calendar's next opening

    @property
    def label(self) -> str:
        """The lower-case name used in counts and reports."""
        return self.name.lower()

    @property
    def meaning(self) -> str:
        """What the status means, in a few words, for people (CLI, API, operator page)."""
        return _MEANINGS[self]


_MEANINGS = {
    RecipientStatus.PENDING: "not released yet",
    RecipientStatus.QUEUED: "queued for a worker",
    RecipientStatus.SENDING: "being sent",
    RecipientStatus.WAITING: "waiting to retry after an error",
    RecipientStatus.SENT: "accepted by Replai",
    RecipientStatus.DELIVERED: "delivered to the phone",
    RecipientStatus.READ: "read",
    RecipientStatus.FAILED: "failed",
    RecipientStatus.SKIPPED: "skipped: on the suppression list",
    RecipientStatus.CANCELLED: "cancelled",
    RecipientStatus.UNKNOWN: "unknown: the request may have reached Replai",
    RecipientStatus.PACED: "waiting for a rate-limit slot",
    RecipientStatus.EXPIRED: "expired: not sent before the campaign's validity ended",
    RecipientStatus.OFF_HOURS: "waiting for its sending hours",
}


TERMINAL_STATUSES = frozenset(
    {
        RecipientStatus.SENT,
        RecipientStatus.DELIVERED,
        RecipientStatus.READ,
        RecipientStatus.FAILED,
        RecipientStatus.SKIPPED,
        RecipientStatus.CANCELLED,
        RecipientStatus.UNKNOWN,
        RecipientStatus.EXPIRED,
    }
)
#: Statuses of recipients that are not finished yet.
OPEN_STATUSES = frozenset(RecipientStatus) - TERMINAL_STATUSES


def new_campaign_id() -> str:
    """A short random id, safe in URLs and Redis keys."""
    return "c" + secrets.token_hex(6)


def placeholders(text: str) -> list[str]:
    """The `{column}` names used in a text, in order, without repeats."""
    return list(dict.fromkeys(m.strip() for m in _PLACEHOLDER.findall(text)))


def render(text: str, variables: Mapping[str, str]) -> str:
    """Fill `{column}` placeholders from a recipient's variables (missing ones become '')."""
    if "{" not in text:
        return text
    return _PLACEHOLDER.sub(lambda m: variables.get(m.group(1).strip(), ""), text)


@dataclasses.dataclass(frozen=True, slots=True)
class Campaign:
    """A broadcast: one message (text or template) for many recipients through one sender.

    `params` are template parameters; each is a literal or contains `{column}` placeholders.
    """

    id: str
    name: str
    channel: Channel  # a plain "waba" or "device" is turned into the Channel
    sender: str
    text: str | None = None
    #: A sender pool (`pools`): every sender it may send through, `sender` first; () one.
    senders: tuple[str, ...] = ()
    template: str | None = None
    language: str = "id"
    params: tuple[str, ...] = ()
    send_at: float | None = None
    rate_per_minute: float | None = None
    #: The Replai account it sends through (`limits.Limits.account_for`); None: the default.
    account: str | None = None
    #: The tightest limit on its pace, in words (`limits.Limit.describe`), set at launch.
    limited_by: str | None = None
    #: A sender pool's: per sender, the limit that holds its sends, in words (set at launch).
    sender_limits: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: When (and in which timezones) it may send; None: any time.
    calendar: Calendar | None = None
    #: The timezones of its recipients besides the calendar's (set when it is stored).
    zones: tuple[str, ...] = ()
    #: Recipients not sent by then end `expired` (seconds since the epoch).
    expires_at: float | None = None
    #: The rate it is launched at (sends a minute), for the finish estimate.
    pace_per_minute: float | None = None
    state: CampaignState = CampaignState.DRAFT
    reason: str | None = None
    total: int = 0
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    summary: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    replies: int = 0
    opted_out: int = 0
    #: Where its report was archived (a path); its recipients are no longer in Redis.
    archive: str | None = None
    archived_at: float | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "channel", Channel.parse(self.channel))
        except ValueError as exc:
            raise CampaignInvalid(str(exc)) from None
        if self.senders:
            self._check_pool()
        if not self.sender:
            raise CampaignInvalid("sender is required (a waba_id or device_id)")
        if (self.text is None) == (self.template is None):
            raise CampaignInvalid("give either a text or a template, not both or neither")
        if self.text is not None and not self.text.strip():
            raise CampaignInvalid("text is empty")
        if self.rate_per_minute is not None and self.rate_per_minute <= 0:
            raise CampaignInvalid(f"rate must be positive, got {self.rate_per_minute}")
        if self.expires_at is not None and self.send_at and self.expires_at <= self.send_at:
            raise CampaignInvalid("expires_at must be after the start time (send_at)")

    def _check_pool(self) -> None:
        if len(set(self.senders)) != len(self.senders) or not all(self.senders):
            raise CampaignInvalid("senders: each sender once, none empty")
        if len(self.senders) > 255:
            raise CampaignInvalid("senders: at most 255 in a pool")
        if not self.sender:
            object.__setattr__(self, "sender", self.senders[0])
        elif self.sender not in self.senders:
            raise CampaignInvalid(f"sender {self.sender!r} is not in its pool (senders)")

    def pool(self) -> list[str]:
        """Its senders: the pool (a recipient's stored sender byte indexes it), else [sender]."""
        return list(self.senders) if len(self.senders) > 1 else [self.sender]

    def zone_names(self) -> list[str]:
        """The timezones its recipients are read in: the calendar's first (zone 0), then
        `zones` (a recipient's stored zone number indexes this list)."""
        return [self.calendar.tz if self.calendar else "UTC", *self.zones]

    @property
    def variables(self) -> list[str]:
        """The columns the message needs from each recipient."""
        parts = [self.text or "", *self.params]
        return list(dict.fromkeys(name for part in parts for name in placeholders(part)))

    def rate(self, channel_rates: Mapping[Channel, float]) -> float:
        """Sends per minute for this campaign: its own rate, else its channel's."""
        if self.rate_per_minute:
            return self.rate_per_minute
        return channel_rates[self.channel]

    @property
    def sender_key(self) -> str:
        """The key the global rate limit is kept under: channel and sender id."""
        return f"{self.channel}:{self.sender}"

    def to_redis(self) -> dict[str, str]:
        """Flatten to a Redis hash mapping (None fields are left out)."""
        out: dict[str, str] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if field.name in ("params", "summary", "zones", "senders", "sender_limits"):
                whole = field.name in ("summary", "sender_limits")
                out[field.name] = json.dumps(dict(value) if whole else list(value))
            elif field.name == "calendar":
                out[field.name] = value.to_json()
            else:
                out[field.name] = str(value)
        return out

    @classmethod
    def from_redis(cls, data: Mapping[bytes | str, bytes | str]) -> "Campaign":
        """Rebuild from a Redis hash (as returned by HGETALL)."""
        raw = {_s(k): _s(v) for k, v in data.items()}
        return cls(
            id=raw["id"],
            name=raw.get("name", raw["id"]),
            channel=Channel(raw["channel"]),
            sender=raw["sender"],
            text=raw.get("text"),
            template=raw.get("template"),
            language=raw.get("language", "id"),
            params=tuple(json.loads(raw.get("params", "[]"))),
            send_at=_f(raw.get("send_at")),
            rate_per_minute=_f(raw.get("rate_per_minute")),
            account=raw.get("account") or None,
            limited_by=raw.get("limited_by") or None,
            sender_limits=json.loads(raw.get("sender_limits", "{}")),
            calendar=Calendar.from_json(raw["calendar"]) if raw.get("calendar") else None,
            zones=tuple(json.loads(raw.get("zones", "[]"))),
            senders=tuple(json.loads(raw.get("senders", "[]"))),
            expires_at=_f(raw.get("expires_at")),
            pace_per_minute=_f(raw.get("pace_per_minute")),
            state=CampaignState(raw.get("state", "draft")),
            reason=raw.get("reason") or None,
            total=int(raw.get("total", 0)),
            created_at=float(raw.get("created_at", 0)),
            started_at=_f(raw.get("started_at")),
            finished_at=_f(raw.get("finished_at")),
            summary=json.loads(raw.get("summary", "{}")),
            replies=int(raw.get("replies", 0)),
            opted_out=int(raw.get("opted_out", 0)),
            archive=raw.get("archive") or None,
            archived_at=_f(raw.get("archived_at")),
        )

    def message_for(self, variables: Mapping[str, str]) -> tuple[str | None, list[str]]:
        """The text (or None for a template) and template parameters for one recipient."""
        text = render(self.text, variables) if self.text is not None else None
        return text, [render(p, variables) for p in self.params]


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _f(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


def check_columns(campaign: Campaign, columns: Sequence[str]) -> None:
    """Raise CampaignInvalid when a placeholder names a column the contacts do not have."""
    missing = [name for name in campaign.variables if name not in columns]
    if missing:
        raise CampaignInvalid(
            f"placeholders {missing} are not columns of the contacts (columns: {list(columns)})"
        )
