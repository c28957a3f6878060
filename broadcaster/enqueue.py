"""enqueue_broadcast() and the other calls an application makes, with the deployment's
settings (`BROADCASTER_*`).

Usage:
    from broadcaster import enqueue_broadcast, campaign_progress

    result = enqueue_broadcast(
        "contacts.csv", sender="1234567890", channel="waba",
        text="Halo {name}, promo {promo} berlaku hari ini!",
    )
    print(result.campaign.id, result.summary["valid"], result.summary["errors"])
    print(campaign_progress(result.campaign.id).counts)

These are `broadcaster.operations.launch` and its siblings with their parts taken from the
settings: the store (`open_store`), the dispatch (`BROADCASTER_DISPATCH`, Celery by default:
the campaign's first sends go straight onto the workers' queue) and, for templates, a Replai
client. Pass `store`, `dispatch` or `client` to use others.
"""

import dataclasses
import datetime
from collections.abc import Iterator, Sequence

from .campaigns import Campaign, Channel
from .operations import CampaignRequest, Dispatch, EnqueueResult, LaunchDefaults, Source
from .operations import launch as _launch
from .operations import load_dispatch as _load_dispatch
from .progress import Progress
from .progress import campaign_progress as _progress
from .replai import ReplaiClient
from .reports import recipient_rows
from .settings import get_settings
from .store import CampaignStore, RecipientRow, open_store

__all__ = ["campaign_progress", "enqueue_broadcast", "get_campaign", "iter_report_rows"]


def enqueue_broadcast(
    contacts: Source,
    *,
    sender: str,
    senders: Sequence[str] = (),
    text: str | None = None,
    template: str | None = None,
    language: str = "id",
    params: Sequence[str] = (),
    channel: Channel | str = Channel.WABA,
    name: str | None = None,
    send_at: datetime.datetime | float | None = None,
    rate_per_minute: float | None = None,
    phone_column: str | None = None,
    account: str | None = None,
    sheet: str | None = None,
    region: str | None = None,
    window: int | None = None,
    hours: str | None = None,
    days: str | None = None,
    tz: str | None = None,
    blackout: Sequence[str] = (),
    local_time: bool = True,
    expires_at: datetime.datetime | float | None = None,
    events_url: str | None = None,
    events_secret: str | None = None,
    store: CampaignStore | None = None,
    client: ReplaiClient | None = None,
    dispatch: Dispatch | None = None,
    dry_run: bool = False,
) -> EnqueueResult:
    """Import contacts, validate the message, store the campaign and start it.

    `params` are template parameters: a column name takes that column's value per recipient,
    anything else is sent as written (and may contain `{column}` placeholders). `region`
    (default `BROADCASTER_DEFAULT_REGION`) is where numbers without a country code are from.
    `window` caps the recipients in flight below `BROADCASTER_DISPATCH_WINDOW`. `account` names
    the Replai account to send through (default: the sender's, else `default`).
    `events_url` receives this campaign's events (docs/events.md), signed per Standard
    Webhooks with `events_secret` (default `BROADCASTER_EVENTS_SECRET`), besides the
    deployment's `BROADCASTER_EVENT_WEBHOOKS`.

    `hours` and `days` set a sending calendar (`hours="09:00-17:00", days="mon-fri"`, or rules
    `hours="mon-fri 09:00-17:00; sat 10:00-14:00"`; default `BROADCASTER_SENDING_HOURS`,
    `"always"` for none) in `tz` (default `BROADCASTER_SENDING_TZ`), read in each recipient's
    own timezone unless `local_time=False`; nothing is sent on `blackout` dates. Recipients
    not sent by `expires_at` end `expired`.

    `contacts` is a CSV, a workbook (`.xlsx`, `.xls`, `.ods`) or a vCard file, judged by its
    content, or a list of dicts. `sheet` names the worksheet of a workbook (by default the
    first visible one); `phone_column` names the phone column (by default the phone columns
    are found by name and ranked, and each row uses the best that holds a mobile number).

    Raises:
        ContactImportError: the file cannot be read, or no row can be sent to (bad rows are
            reported in the summary, not raised).
        CampaignInvalid: unknown template, wrong parameter count, unknown placeholder column.
        BrokerUnavailable: the workers' queue cannot be reached; nothing is left stored.
        StoreFull: Redis has no room for the campaign; nothing is left stored.
    """
    settings = get_settings()
    defaults = LaunchDefaults.from_settings(settings)
    if region is not None:
        defaults = dataclasses.replace(defaults, region=region)
    request = CampaignRequest(
        sender=sender, senders=senders, text=text, template=template, language=language,
        params=params,
        channel=channel, name=name, send_at=send_at, rate_per_minute=rate_per_minute,
        phone_column=phone_column, account=account, sheet=sheet, hours=hours, days=days, tz=tz,
        blackout=blackout, local_time=local_time, expires_at=expires_at, events_url=events_url,
        events_secret=events_secret,
    )  # fmt: skip
    opened: list[ReplaiClient] = []

    def open_client(name: str) -> ReplaiClient:  # for the template check, when there is one
        opened.append(settings.replai_client(name))
        return opened[-1]

    try:
        return _launch(
            store or open_store(settings),
            dispatch or _load_dispatch(settings.dispatch),
            contacts,
            request,
            defaults=defaults,
            client=client or open_client,
            window=window,
            dry_run=dry_run,
        )
    finally:
        for opened_client in opened:
            opened_client.close()


def get_campaign(campaign_id: str, *, store: CampaignStore | None = None) -> Campaign:
    """The stored campaign; raises CampaignNotFound."""
    return (store or open_store(get_settings())).get(campaign_id)


def campaign_progress(campaign_id: str, *, store: CampaignStore | None = None) -> Progress:
    """Counts per status, the current send rate, the time to go and what it is doing."""
    return _progress(store or open_store(get_settings()), campaign_id)


def iter_report_rows(
    campaign_id: str, *, status: str | None = None, store: CampaignStore | None = None
) -> Iterator[RecipientRow]:
    """Every recipient with status, attempts, message id, error and reply, in file order (an
    archived campaign's from its archive)."""
    store = store or open_store(get_settings())
    return recipient_rows(store, store.get(campaign_id), status=status)
