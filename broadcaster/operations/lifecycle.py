"""Pause, resume, cancel, retry failed, resend unknown: a running campaign's controls."""

import dataclasses
import logging

from broadcaster.campaigns import Campaign, RecipientStatus
from broadcaster.errors import BrokerUnavailable, ConfirmationRequired
from broadcaster.store import CampaignStore

from .dispatch import Dispatch

__all__ = [
    "PAUSED_BY_OPERATOR",
    "ActionOutcome",
    "cancel",
    "pause",
    "resend_unknown",
    "resume",
    "retry_failed",
]

logger = logging.getLogger(__name__)

#: The reason shown for a campaign an operator paused.
PAUSED_BY_OPERATOR = "paused by an operator"


@dataclasses.dataclass(frozen=True, slots=True)
class ActionOutcome:
    """The campaign after an action, how many recipients the action moved (if any), and a
    note when its sends could not be queued yet (they go out once the broker is back)."""

    campaign: Campaign
    recipients: int | None = None
    note: str | None = None


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
