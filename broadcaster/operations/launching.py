"""Launch: a contact file and a message in, a started campaign out."""

import dataclasses
import datetime
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import IO, Any

from broadcaster.calendar import DAYS, Calendar, spec_from
from broadcaster.campaigns import Campaign, Channel, check_columns, dispatch_window
from broadcaster.campaigns import new_campaign_id as _new_id
from broadcaster.contacts import read_contacts
from broadcaster.errors import CampaignInvalid, ContactImportError, ReplaiError
from broadcaster.events import EventRules, Subscription
from broadcaster.limits import Limits
from broadcaster.replai import ReplaiClient
from broadcaster.store import CampaignStore

from .dispatch import Dispatch

__all__ = ["CampaignRequest", "EnqueueResult", "LaunchDefaults", "Source", "launch", "start"]

Source = str | os.PathLike[str] | IO[bytes] | IO[str] | Iterable[Mapping[str, object]]


@dataclasses.dataclass(frozen=True, slots=True)
class LaunchDefaults:
    """What a deployment decides for every launch (from `Settings`, see `from_settings`)."""

    region: str
    dispatch_window: int
    send_batch: int
    limits: Limits
    #: Share of Redis's maxmemory a launch leaves free (`Settings.redis_min_headroom`).
    min_headroom: float
    #: The calendar of launches that give no hours (`Settings.sending_hours`); None: any time.
    calendar: Calendar | None = None
    #: The timezone of calendars launched without one (`Settings.sending_tz`).
    tz: str = "Asia/Jakarta"
    #: Every campaign's event subscriptions (`Settings.event_webhooks`), the secret of a
    #: campaign's own `events_url` when it names none, and how events are kept.
    events: tuple[Subscription, ...] = ()
    events_secret: str | None = None
    event_rules: EventRules = dataclasses.field(default_factory=EventRules)

    @classmethod
    def from_settings(cls, settings: Any) -> "LaunchDefaults":
        """Read them from a `Settings`."""
        return cls(
            region=settings.default_region,
            dispatch_window=settings.dispatch_window,
            send_batch=settings.send_batch,
            limits=Limits.from_settings(settings),
            min_headroom=settings.redis_min_headroom,
            calendar=Calendar.parse(
                settings.sending_hours, settings.sending_tz, settings.blackout_dates.split(",")
            )
            if settings.sending_hours
            else None,
            tz=settings.sending_tz,
            events=tuple(Subscription.from_config(h) for h in settings.event_webhooks),
            events_secret=_secret(settings.events_secret),
            event_rules=EventRules.from_settings(settings),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignRequest:
    """A campaign as a user asks for it, from any edge (API, CLI, page, Python).

    `params` are template parameters: a column name takes that column's value per recipient,
    anything else is sent as written (and may contain `{column}` placeholders).
    """

    sender: str
    text: str | None = None
    #: A sender pool (`pools`): each recipient is sent by one of them; () only `sender`.
    senders: Sequence[str] = ()
    template: str | None = None
    language: str = "id"
    params: Sequence[str] = ()
    channel: Channel | str = Channel.WABA
    name: str | None = None
    send_at: datetime.datetime | float | None = None
    rate_per_minute: float | None = None
    phone_column: str | None = None
    #: The Replai account to send through; None: the sender's (BROADCASTER_SENDERS), else
    #: the default one.
    account: str | None = None
    sheet: str | None = None  #: the worksheet of a workbook (by default the first visible)
    #: Sending hours: `09:00-17:00` (with `days`), or rules `mon-fri 09:00-17:00; sat
    #: 10:00-14:00`; `always` for none (over the deployment's default calendar).
    hours: str | None = None
    days: str | None = None  #: `mon-fri`, `mon,wed,fri`; alone: all day on those days
    tz: str | None = None  #: the calendar's timezone (default `BROADCASTER_SENDING_TZ`)
    blackout: Sequence[str] = ()  #: dates (YYYY-MM-DD) nothing is sent
    #: Read the hours in each recipient's own timezone where known (`timezones`); False:
    #: in `tz` for everyone.
    local_time: bool = True
    #: Recipients not sent by then end `expired`.
    expires_at: datetime.datetime | float | None = None
    #: Where this campaign's events go too (signed with `events_secret`, by default the
    #: deployment's `BROADCASTER_EVENTS_SECRET`).
    events_url: str | None = None
    events_secret: str | None = None

    def pool(self) -> tuple[str, ...]:
        """Its sender pool: `sender` (when given) then `senders`, each once; () for one."""
        names = [self.sender] if self.sender else []
        names += [s.strip() for s in self.senders if s.strip()]
        pool = tuple(dict.fromkeys(names))
        return pool if len(pool) > 1 else ()

    def calendar(self, default: Calendar | None, tz: str) -> Calendar | None:
        """The campaign's calendar: its own hours, else `default` (raises CampaignInvalid)."""
        if self.hours and self.hours.strip().lower() in ("always", "any"):
            return None
        if self.hours and any(day in self.hours.lower() for day in DAYS):
            if self.days:
                raise CampaignInvalid("give hours as rules (mon-fri 09:00-17:00) or with days")
            spec: str | None = self.hours
        else:
            spec = spec_from(self.hours, self.days)
        if spec is None:
            if default is None or not (self.tz or self.blackout):
                return default
            spec = default.spec
        return Calendar.parse(spec, self.tz or tz, self.blackout, local=self.local_time)

    def campaign(
        self, columns: Sequence[str], defaults: "LaunchDefaults | None" = None
    ) -> Campaign:
        """The campaign this asks for, given the contact columns (raises CampaignInvalid)."""
        when, expires = self.send_at, self.expires_at
        campaign = Campaign(
            id=_new_id(),
            name=self.name or f"campaign {time.strftime('%Y-%m-%d %H:%M')}",
            channel=self.channel,  # type: ignore[arg-type]  # Campaign parses it
            sender=self.sender or (self.senders[0] if self.senders else ""),
            senders=self.pool(),
            text=self.text,
            template=self.template,
            language=self.language,
            params=tuple("{" + p + "}" if p in columns else p for p in self.params),
            send_at=when.timestamp() if isinstance(when, datetime.datetime) else when,
            rate_per_minute=self.rate_per_minute,
            account=self.account,
            calendar=self.calendar(defaults.calendar, defaults.tz)
            if defaults
            else self.calendar(None, "UTC"),
            expires_at=expires.timestamp() if isinstance(expires, datetime.datetime) else expires,
        )
        check_columns(campaign, columns)
        return campaign


@dataclasses.dataclass(frozen=True, slots=True)
class EnqueueResult:
    """The stored (and started) campaign and its import summary (row errors with lines)."""

    campaign: Campaign
    summary: Mapping[str, Any]


def start(store: CampaignStore, dispatch: Dispatch, campaign_id: str) -> int:
    """Start a stored campaign (or schedule it, when its `send_at` is ahead) and publish the
    sends it releases: launch's last step, and the ticker's when a scheduled one is due.

    Returns how many sends were published.

    Raises:
        CampaignStateError: it is not a draft or scheduled campaign.
        BrokerUnavailable: the sends could not be queued (they stay in the window).
    """
    released = store.start(campaign_id)
    if released:  # none when scheduled: the ticker starts it then
        dispatch.publish(campaign_id, released)
    return len(released)


def launch(
    store: CampaignStore,
    dispatch: Dispatch,
    contacts: Source,
    request: CampaignRequest,
    *,
    defaults: LaunchDefaults,
    client: ReplaiClient | Callable[[str], ReplaiClient] | None = None,
    window: int | None = None,
    dry_run: bool = False,
) -> EnqueueResult:
    """Import contacts, validate the message, store the campaign, start it and publish its
    first sends (or schedule it, when `send_at` is ahead).

    `client` checks a template against Replai's list (required with a template): a client of
    the campaign's account, or a function that gives one for an account's name. `window`
    caps the recipients in flight below `defaults.dispatch_window`; the campaign gets no more
    than its rate can send in 2 s either (`campaigns.dispatch_window`). With `dry_run`, only
    import and validate: the summary gets the `recipients` it would send to.

    Raises:
        ContactImportError: the file cannot be read, or no row can be sent to.
        CampaignInvalid: unknown template, wrong parameter count, unknown placeholder column,
            unknown account, a rate above the account's or the sender's.
        BrokerUnavailable: the first sends could not be queued (the campaign is deleted).
        StoreFull: Redis has no room for the campaign (nothing is kept).
    """
    limits = defaults.limits
    if not dry_run:
        store.check_room(0, min_headroom=defaults.min_headroom)  # before reading the file
    with read_contacts(
        contacts,
        phone_column=request.phone_column,
        region=defaults.region,
        sheet=request.sheet,
        suppressed=store.blocked(),
    ) as imported:
        columns = [c for c in imported.columns if c != imported.summary.phone_column]
        campaign = request.campaign(columns, defaults)
        if campaign.expires_at is not None and campaign.expires_at <= store.clock():
            raise CampaignInvalid("expires_at is in the past")
        account = limits.account_for(campaign.sender, campaign.account)
        if not campaign.senders or campaign.account:  # a pool's senders keep their accounts
            campaign = dataclasses.replace(campaign, account=account)
        limits.check(campaign)
        campaign = dataclasses.replace(
            campaign,
            limited_by=limits.pool_binding(campaign).describe(),
            sender_limits={s: lim.describe() for s, lim in limits.per_sender(campaign).items()},
            pace_per_minute=limits.rate(campaign),
        )
        if campaign.template is not None:
            if client is None:
                raise CampaignInvalid("a Replai client is needed to check the template")
            _check_template(client(account) if callable(client) else client, campaign)
        if dry_run:
            recipients = [c.phone for c in imported]
            return EnqueueResult(campaign, imported.summary.to_dict() | {"recipients": recipients})
        size = dispatch_window(
            min(window or defaults.dispatch_window, defaults.dispatch_window),
            limits.rate(campaign),
            defaults.send_batch,
            senders=len(campaign.senders),
        )
        subscriptions, api = _subscriptions(request, defaults), store.global_hooks()
        stored = store.create(campaign, imported, window=size)
        store.subscribe(stored.id, subscriptions, defaults.event_rules, api=api)
    if stored.total == 0:
        store.delete(stored.id)
        raise ContactImportError(_nothing_to_send(stored.summary), summary=stored.summary)
    try:
        store.check_room(stored.total, min_headroom=defaults.min_headroom)
        start(store, dispatch, stored.id)
    except BaseException:
        store.delete(stored.id)  # never leave a campaign that nothing will send
        raise
    return EnqueueResult(store.get(stored.id), stored.summary)


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def _subscriptions(request: CampaignRequest, defaults: LaunchDefaults) -> list[Subscription]:
    """The settings' subscriptions and the campaign's own (raises CampaignInvalid); `launch`
    adds those made through the API (`CampaignStore.global_hooks`)."""
    if not request.events_url:
        return list(defaults.events)
    secret = request.events_secret or defaults.events_secret
    if not secret:
        raise CampaignInvalid("events_url needs a signing secret: events_secret, or "
                              "BROADCASTER_EVENTS_SECRET")  # fmt: skip
    try:
        return [*defaults.events, Subscription(request.events_url, secret)]
    except (ValueError, TypeError) as exc:
        raise CampaignInvalid(f"events_url: {exc}") from exc


def _nothing_to_send(summary: Mapping[str, Any]) -> str:
    errors = summary.get("errors") or []
    shown = "; ".join(f"line {e['line']}: {e['reason']}" for e in errors[:3])
    counts = ", ".join(_plural(summary.get(key, 0), word) for key, word in _NOT_SENT)
    return f"no recipient to send to ({counts})" + (f": {shown}" if shown else "")


#: Summary counts of rows that give no recipient, and their words.
_NOT_SENT = (
    ("rejected", "row rejected"),
    ("duplicates", "duplicate"),
    ("suppressed", "suppressed number"),
)


def _plural(count: int, words: str) -> str:
    """`1 row rejected`, `2 rows rejected`: the first word takes the plural."""
    if count == 1:
        return f"1 {words}"
    first, _, rest = words.partition(" ")
    return f"{count} {first}s{' ' + rest if rest else ''}"


def _check_template(client: ReplaiClient, campaign: Campaign) -> None:
    try:
        templates = client.get_templates(campaign.sender)
    except ReplaiError as exc:
        raise CampaignInvalid(f"cannot check template {campaign.template!r}: {exc}") from exc
    found = next((t for t in templates if campaign.template in (t.name, t.id)), None)
    if found is None:
        names = ", ".join(sorted(t.name or t.id or "?" for t in templates)) or "none"
        raise CampaignInvalid(f"template {campaign.template!r} not found (templates: {names})")
    if found.param_count != len(campaign.params):
        raise CampaignInvalid(
            f"template {found.name!r} takes {found.param_count} parameters, "
            f"{len(campaign.params)} given"
        )
