"""Launch: a contact file and a message in, a started campaign out."""

import dataclasses
import datetime
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

from broadcaster.campaigns import Campaign, Channel, check_columns, dispatch_window
from broadcaster.campaigns import new_campaign_id as _new_id
from broadcaster.contacts import read_contacts
from broadcaster.errors import CampaignInvalid, ContactImportError, ReplaiError
from broadcaster.replai import ReplaiClient
from broadcaster.store import CampaignStore

from .dispatch import Dispatch

__all__ = ["CampaignRequest", "EnqueueResult", "LaunchDefaults", "Source", "launch"]

Source = str | os.PathLike[str] | IO[bytes] | IO[str] | Iterable[Mapping[str, object]]


@dataclasses.dataclass(frozen=True, slots=True)
class LaunchDefaults:
    """What a deployment decides for every launch (from `Settings`, see `from_settings`)."""

    region: str
    dispatch_window: int
    send_batch: int
    channel_rates: Mapping[Channel, float]
    #: Share of Redis's maxmemory a launch leaves free (`Settings.redis_min_headroom`).
    min_headroom: float

    @classmethod
    def from_settings(cls, settings: Any) -> "LaunchDefaults":
        """Read them from a `Settings`."""
        return cls(
            region=settings.default_region,
            dispatch_window=settings.dispatch_window,
            send_batch=settings.send_batch,
            channel_rates=settings.channel_rates,
            min_headroom=settings.redis_min_headroom,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignRequest:
    """A campaign as a user asks for it, from any edge (API, CLI, page, Python).

    `params` are template parameters: a column name takes that column's value per recipient,
    anything else is sent as written (and may contain `{column}` placeholders).
    """

    sender: str
    text: str | None = None
    template: str | None = None
    language: str = "id"
    params: Sequence[str] = ()
    channel: Channel | str = Channel.WABA
    name: str | None = None
    send_at: datetime.datetime | float | None = None
    rate_per_minute: float | None = None
    phone_column: str | None = None

    def campaign(self, columns: Sequence[str]) -> Campaign:
        """The campaign this asks for, given the contact columns (raises CampaignInvalid)."""
        when = self.send_at
        campaign = Campaign(
            id=_new_id(),
            name=self.name or f"campaign {time.strftime('%Y-%m-%d %H:%M')}",
            channel=self.channel,  # type: ignore[arg-type]  # Campaign parses it
            sender=self.sender,
            text=self.text,
            template=self.template,
            language=self.language,
            params=tuple("{" + p + "}" if p in columns else p for p in self.params),
            send_at=when.timestamp() if isinstance(when, datetime.datetime) else when,
            rate_per_minute=self.rate_per_minute,
        )
        check_columns(campaign, columns)
        return campaign


@dataclasses.dataclass(frozen=True, slots=True)
class EnqueueResult:
    """The stored (and started) campaign and its import summary (row errors with lines)."""

    campaign: Campaign
    summary: Mapping[str, Any]


def launch(
    store: CampaignStore,
    dispatch: Dispatch,
    contacts: Source,
    request: CampaignRequest,
    *,
    defaults: LaunchDefaults,
    client: ReplaiClient | None = None,
    window: int | None = None,
    dry_run: bool = False,
) -> EnqueueResult:
    """Import contacts, validate the message, store the campaign, start it and publish its
    first sends (or schedule it, when `send_at` is ahead).

    `client` checks a template against Replai's list (required with a template). `window`
    caps the recipients in flight below `defaults.dispatch_window`; the campaign gets no more
    than its rate can send in 2 s either (`campaigns.dispatch_window`). With `dry_run`, only
    import and validate: the summary gets the `recipients` it would send to.

    Raises:
        ContactImportError: the file cannot be read, or no row can be sent to.
        CampaignInvalid: unknown template, wrong parameter count, unknown placeholder column.
        BrokerUnavailable: the first sends could not be queued (the campaign is deleted).
        StoreFull: Redis has no room for the campaign (nothing is kept).
    """
    if not dry_run:
        store.check_room(0, min_headroom=defaults.min_headroom)  # before reading the file
    with read_contacts(
        contacts,
        phone_column=request.phone_column,
        region=defaults.region,
        suppressed=store.suppressed(),
    ) as imported:
        columns = [c for c in imported.columns if c != imported.summary.phone_column]
        campaign = request.campaign(columns)
        if campaign.template is not None:
            if client is None:
                raise CampaignInvalid("a Replai client is needed to check the template")
            _check_template(client, campaign)
        if dry_run:
            recipients = [c.phone for c in imported]
            return EnqueueResult(campaign, imported.summary.to_dict() | {"recipients": recipients})
        size = dispatch_window(
            min(window or defaults.dispatch_window, defaults.dispatch_window),
            campaign.rate(defaults.channel_rates),
            defaults.send_batch,
        )
        stored = store.create(campaign, imported, window=size)
    if stored.total == 0:
        store.delete(stored.id)
        raise ContactImportError(_nothing_to_send(stored.summary), summary=stored.summary)
    try:
        store.check_room(stored.total, min_headroom=defaults.min_headroom)
        released = store.start(stored.id)
        if released:  # none when scheduled: the ticker starts it then
            dispatch.publish(stored.id, released)
    except BaseException:
        store.delete(stored.id)  # never leave a campaign that nothing will send
        raise
    return EnqueueResult(store.get(stored.id), stored.summary)


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
