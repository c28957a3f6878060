"""Every campaign action, once: launch, pause, resume, cancel, retry failed, resend unknown,
test send. The HTTP API, the operator page, the command line and `enqueue_broadcast` all call
these functions; none of them changes a campaign any other way.

Each action takes the store and, when it releases recipients, a `Dispatch`: the port through
which released recipients reach the workers. `workers.dispatch.CeleryDispatch` implements it
with Celery; tests pass a recorder. The store changes first (atomically, in Lua), then the
released recipients are published. If publishing fails, they are still in the campaign's
dispatch window, and the workers' ticker publishes them again once they are stale: an action
that changed the store is never undone by a broker fault, except a launch, which deletes the
campaign it could not start (nothing of it was sent).

Usage:
    store, dispatch = open_store(settings), load_dispatch(settings.dispatch)
    result = launch(store, dispatch, "contacts.csv", CampaignRequest(sender="123", text="Hi"),
                    defaults=LaunchDefaults.from_settings(settings))
    pause(store, result.campaign.id)
"""

import dataclasses
import datetime
import importlib
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any, Protocol

from .campaigns import Campaign, Channel, RecipientStatus, check_columns, dispatch_window
from .campaigns import new_campaign_id as _new_id
from .contacts import read_contacts
from .errors import (
    BrokerUnavailable,
    CampaignInvalid,
    ConfirmationRequired,
    ContactImportError,
    ReplaiError,
)
from .phones import mask_phone
from .replai import ReplaiClient
from .store import CampaignStore

__all__ = [
    "PAUSED_BY_OPERATOR",
    "ActionOutcome",
    "CampaignRequest",
    "Dispatch",
    "EnqueueResult",
    "LaunchDefaults",
    "Source",
    "TrialResult",
    "cancel",
    "launch",
    "load_dispatch",
    "pause",
    "resend_unknown",
    "resume",
    "retry_failed",
    "trial_send",
]

logger = logging.getLogger(__name__)

#: The reason shown for a campaign an operator paused.
PAUSED_BY_OPERATOR = "paused by an operator"

Source = str | os.PathLike[str] | IO[bytes] | IO[str] | Iterable[Mapping[str, object]]


class Dispatch(Protocol):
    """How released recipients reach the workers."""

    def publish(self, campaign_id: str, indexes: Sequence[int]) -> None:
        """Queue sends for these recipients of the campaign.

        Raises:
            BrokerUnavailable: nothing could be queued.
        """


def load_dispatch(path: str) -> Dispatch:
    """The Dispatch named by `module:attribute` (a class is instantiated), e.g. the setting
    `BROADCASTER_DISPATCH` (default `workers.dispatch:CeleryDispatch`).

    Raises:
        ValueError: the name does not lead to an object with `publish`.
    """
    module, _, name = path.partition(":")
    try:
        found = getattr(importlib.import_module(module), name or "dispatch")
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load the dispatch {path!r}: {exc}") from None
    dispatch = found() if isinstance(found, type) else found
    if not callable(getattr(dispatch, "publish", None)):
        raise ValueError(f"{path!r} has no publish(campaign_id, indexes)")
    return dispatch  # type: ignore[no-any-return]


@dataclasses.dataclass(frozen=True, slots=True)
class LaunchDefaults:
    """What a deployment decides for every launch (from `Settings`, see `from_settings`)."""

    region: str
    dispatch_window: int
    send_batch: int
    channel_rates: Mapping[Channel, float]

    @classmethod
    def from_settings(cls, settings: Any) -> "LaunchDefaults":
        """Read them from a `Settings`."""
        return cls(
            region=settings.default_region,
            dispatch_window=settings.dispatch_window,
            send_batch=settings.send_batch,
            channel_rates=settings.channel_rates,
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


@dataclasses.dataclass(frozen=True, slots=True)
class ActionOutcome:
    """The campaign after an action, how many recipients the action moved (if any), and a
    note when its sends could not be queued yet (they go out once the broker is back)."""

    campaign: Campaign
    recipients: int | None = None
    note: str | None = None


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
    """
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
        released = store.start(stored.id)
        if released:  # none when scheduled: the ticker starts it then
            dispatch.publish(stored.id, released)
    except BaseException:
        store.delete(stored.id)  # never leave a campaign that nothing will send
        raise
    return EnqueueResult(store.get(stored.id), stored.summary)


def pause(store: CampaignStore, campaign_id: str, *, reason: str = PAUSED_BY_OPERATOR) -> Campaign:
    """Stop releasing sends at once; sends already queued go back to pending."""
    store.pause(campaign_id, reason)
    return store.get(campaign_id)


def resume(store: CampaignStore, dispatch: Dispatch, campaign_id: str) -> ActionOutcome:
    """Continue a paused campaign."""
    note = _publish(dispatch, campaign_id, store.resume(campaign_id))
    return ActionOutcome(store.get(campaign_id), note=note)


def cancel(store: CampaignStore, campaign_id: str) -> ActionOutcome:
    """Cancel every recipient not sent yet; `recipients` counts them."""
    cancelled = store.cancel(campaign_id)
    return ActionOutcome(store.get(campaign_id), cancelled)


def retry_failed(store: CampaignStore, dispatch: Dispatch, campaign_id: str) -> ActionOutcome:
    """Send again every failed recipient; `recipients` counts them."""
    return _requeue(store, dispatch, campaign_id, RecipientStatus.FAILED, "retry failed")


def resend_unknown(
    store: CampaignStore, dispatch: Dispatch, campaign_id: str, *, confirm: bool
) -> ActionOutcome:
    """Send again the recipients whose outcome is unknown: Replai may have sent them, so they
    may get the message twice. Needs `confirm=True`.

    Raises:
        ConfirmationRequired: `confirm` is false; the message says how many it concerns.
    """
    if not confirm:
        unknown = store.counts(campaign_id)["unknown"]
        raise ConfirmationRequired(
            f"{unknown} unknown recipients of campaign {campaign_id} may already have the "
            "message and would get it twice: confirm to resend them anyway"
        )
    return _requeue(store, dispatch, campaign_id, RecipientStatus.UNKNOWN, "resend unknown")


def _requeue(
    store: CampaignStore, dispatch: Dispatch, cid: str, status: RecipientStatus, asked: str
) -> ActionOutcome:
    released, count = store.requeue(cid, status, asked=f"{asked} recipients of")
    note = _publish(dispatch, cid, released)
    return ActionOutcome(store.get(cid), count, note)


def _publish(dispatch: Dispatch, cid: str, released: list[int]) -> str | None:
    """Publish released sends; a note instead of an error when the broker is down."""
    if not released:
        return None
    try:
        dispatch.publish(cid, released)
    except BrokerUnavailable as exc:  # the window holds them: the ticker publishes them again
        logger.warning("campaign %s: %d sends not queued yet: %s", cid, len(released), exc)
        return f"{exc}; the sends are queued by the workers once it is back"
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class TrialResult:
    """One test send: the message id, or the reason it was not sent."""

    phone: str
    ok: bool
    message_id: str | None = None
    error: str | None = None


def trial_send(
    store: CampaignStore,
    client: ReplaiClient,
    campaign: Campaign,
    phones: Sequence[str],
    variables: Mapping[str, str],
) -> list[TrialResult]:
    """Send the campaign's message now to a few (normalised) numbers, as a recipient whose
    row has `variables` would get it; not counted in any campaign. Suppressed numbers are
    not sent to.

    Raises:
        CampaignInvalid: the message needs variables that are not given.
    """
    missing = [name for name in campaign.variables if name not in variables]
    if missing:
        raise CampaignInvalid(f"the message needs variables {missing}: give them")
    text, params = campaign.message_for(variables)
    results = []
    for phone in phones:
        if store.is_suppressed(phone):
            results.append(TrialResult(phone, False, error="on the suppression list"))
            continue
        try:
            sent = client.send(
                channel=campaign.channel, sender=campaign.sender, phone=phone, text=text,
                template=campaign.template, params=params, language=campaign.language,
                ref=f"{campaign.id}:test",
            )  # fmt: skip
        except ReplaiError as exc:
            logger.info("test send of %s to %s failed: %s", campaign.id, mask_phone(phone), exc)
            results.append(TrialResult(phone, False, error=exc.reason))
            continue
        results.append(TrialResult(phone, True, message_id=sent.message_id))
    return results


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
