"""enqueue_broadcast() and the other calls an application makes, without Celery or a web app.

Usage:
    from broadcaster import enqueue_broadcast, campaign_progress

    result = enqueue_broadcast(
        "contacts.csv", sender="1234567890", channel="waba",
        text="Halo {name}, promo {promo} berlaku hari ini!",
    )
    print(result.campaign.id, result.summary["valid"], result.summary["errors"])
    print(campaign_progress(result.campaign.id).counts)

Without `store`, `dispatch` and `client`, these come from settings (`BROADCASTER_*`) and the
campaign starts on the Celery workers (`workers.tasks.start_campaign`).
"""

import dataclasses
import datetime
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

from .campaigns import (
    Campaign,
    CampaignState,
    Channel,
    check_columns,
    dispatch_window,
    new_campaign_id,
)
from .contacts import read_contacts
from .errors import CampaignInvalid, ContactImportError, ReplaiError
from .replai import ReplaiClient
from .store import CampaignStore, RecipientRow

__all__ = [
    "EnqueueResult",
    "Progress",
    "campaign_progress",
    "enqueue_broadcast",
    "get_campaign",
    "iter_report_rows",
]

Source = str | os.PathLike[str] | IO[bytes] | IO[str] | Iterable[Mapping[str, object]]
Dispatch = Callable[[str], object]


@dataclasses.dataclass(frozen=True, slots=True)
class EnqueueResult:
    """The stored campaign and its import summary (row errors with line numbers)."""

    campaign: Campaign
    summary: Mapping[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Progress:
    """Where a campaign stands."""

    campaign_id: str
    state: str
    reason: str | None
    total: int
    counts: Mapping[str, int]
    done: int
    rate: float  # recipients finished per second since the start
    eta: float | None  # seconds to go at that rate

    @property
    def percent(self) -> float:
        """Finished recipients as a percentage of the total."""
        return 100.0 * self.done / self.total if self.total else 100.0


def enqueue_broadcast(
    contacts: Source,
    *,
    sender: str,
    text: str | None = None,
    template: str | None = None,
    language: str = "id",
    params: Sequence[str] = (),
    channel: Channel = "waba",
    name: str | None = None,
    send_at: datetime.datetime | float | None = None,
    rate_per_minute: float | None = None,
    phone_column: str | None = None,
    region: str | None = None,
    window: int | None = None,
    store: CampaignStore | None = None,
    client: ReplaiClient | None = None,
    dispatch: Dispatch | None = None,
    dry_run: bool = False,
) -> EnqueueResult:
    """Import contacts, validate the message, store the campaign and start it.

    `params` are template parameters: a column name takes that column's value per recipient,
    anything else is sent as written (and may contain `{column}` placeholders). `window` caps
    the recipients in flight (default `BROADCASTER_DISPATCH_WINDOW`); the campaign gets no more
    than its rate can send in 2 s either (`campaigns.dispatch_window`).

    Raises:
        ContactImportError: the file cannot be read (bad rows are reported, not raised).
        CampaignInvalid: unknown template, wrong parameter count, unknown placeholder column.
    """
    settings = _settings() if store is None or region is None or window is None else None
    store = store or _default_store(settings)
    with read_contacts(
        contacts,
        phone_column=phone_column,
        region=region or _settings().default_region,
        suppressed=store.suppressed(),
    ) as imported:
        columns = [c for c in imported.columns if c != imported.summary.phone_column]
        campaign = Campaign(
            id=new_campaign_id(),
            name=name or f"campaign {time.strftime('%Y-%m-%d %H:%M')}",
            channel=channel,
            sender=sender,
            text=text,
            template=template,
            language=language,
            params=tuple("{" + p + "}" if p in columns else p for p in params),
            send_at=send_at.timestamp() if isinstance(send_at, datetime.datetime) else send_at,
            rate_per_minute=rate_per_minute,
        )
        check_columns(campaign, columns)
        if template is not None:
            _check_template(client or _default_client(_settings()), campaign)
        if dry_run:
            recipients = [c.phone for c in imported]
            return EnqueueResult(campaign, imported.summary.to_dict() | {"recipients": recipients})
        stored = store.create(campaign, imported, window=_window(campaign, window))
    if stored.total == 0:
        store.delete(stored.id)
        raise ContactImportError(_nothing_to_send(stored.summary), summary=stored.summary)
    try:
        (dispatch or _default_dispatch())(stored.id)
    except BaseException:
        store.delete(stored.id)  # never leave a campaign that nothing will send
        raise
    return EnqueueResult(stored, stored.summary)


def _window(campaign: Campaign, limit: int | None) -> int:
    settings = _settings()
    rate = campaign.rate(
        waba=settings.rate_waba_per_minute, device=settings.rate_device_per_minute
    )
    return dispatch_window(limit or settings.dispatch_window, rate, settings.send_batch)


def get_campaign(campaign_id: str, *, store: CampaignStore | None = None) -> Campaign:
    """The stored campaign; raises CampaignNotFound."""
    return (store or _default_store()).get(campaign_id)


def campaign_progress(campaign_id: str, *, store: CampaignStore | None = None) -> Progress:
    """Counts per status, rate and estimated time to finish."""
    store = store or _default_store()
    campaign = store.get(campaign_id)
    counts = store.counts(campaign_id)
    open_ = counts["pending"] + counts["queued"] + counts["sending"] + counts["waiting"]
    done = campaign.total - open_
    end = campaign.finished_at or store.clock()
    elapsed = end - campaign.started_at if campaign.started_at else 0.0
    rate = done / elapsed if elapsed > 0 else 0.0
    running = campaign.state == CampaignState.RUNNING
    eta = open_ / rate if running and rate > 0 else None
    return Progress(
        campaign_id,
        campaign.state.value,
        campaign.reason,
        campaign.total,
        counts,
        done,
        rate,
        eta,
    )


def iter_report_rows(
    campaign_id: str, *, status: str | None = None, store: CampaignStore | None = None
) -> Iterator[RecipientRow]:
    """Every recipient with status, attempts, message id, error and reply, in file order."""
    return (store or _default_store()).iter_rows(campaign_id, status=status)


def _nothing_to_send(summary: Mapping[str, Any]) -> str:
    errors = summary.get("errors") or []
    shown = "; ".join(f"line {e['line']}: {e['reason']}" for e in errors[:3])
    return (
        f"no recipient to send to ({summary.get('rejected', 0)} rows rejected, "
        f"{summary.get('duplicates', 0)} duplicates, {summary.get('suppressed', 0)} suppressed)"
        + (f": {shown}" if shown else "")
    )


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


def _settings() -> Any:
    from .settings import get_settings  # the convenience path only: callers may pass everything

    return get_settings()


def _default_store(settings: Any = None) -> CampaignStore:
    import redis

    from .keys import Keys

    settings = settings or _settings()
    return CampaignStore(redis.Redis.from_url(settings.redis_url), keys=Keys(settings.key_prefix))


def _default_client(settings: Any) -> ReplaiClient:
    client: ReplaiClient = settings.replai_client()
    return client


def _default_dispatch() -> Dispatch:
    from workers.tasks import start_campaign

    return start_campaign.delay
