"""Deleting a campaign: refused while it runs or has sends in flight, then every key of it and
its entries in the global indexes are removed in bounded steps (`store.deletion`)."""

import logging

from broadcaster.store import CampaignStore, Removal

__all__ = ["delete_campaign", "deletion_summary"]

logger = logging.getLogger(__name__)


def delete_campaign(store: CampaignStore, campaign_id: str) -> Removal:
    """Delete a campaign that is not running (pause or cancel it first).

    Its recipients, statuses, message ids, replies, events and report go; so do its entries
    in the message-id and phone indexes (callbacks and replies for it are then ignored). The
    suppression list is kept: it belongs to the numbers, not to the campaign. A deletion cut
    short (a crash) is finished by deleting again.

    Raises:
        CampaignNotFound: no such campaign.
        CampaignStateError: it is running or scheduled, or sends are in flight.
    """
    removal = store.delete_campaign(campaign_id)
    logger.info(
        "campaign %s deleted: %d recipients, %d keys, %d index entries",
        campaign_id, removal.recipients, removal.keys, removal.index_entries,
    )  # fmt: skip
    return removal


def deletion_summary(store: CampaignStore, campaign_id: str) -> str:
    """What deleting a campaign removes, in words, for a confirmation question."""
    campaign = store.get(campaign_id)
    what = f"campaign {campaign.name!r} ({campaign.id})"
    if campaign.archive:
        return f"{what}: its summary in Redis (its archived report file is kept)"
    return (
        f"{what}: its {campaign.total:,} recipients with their statuses, message ids and "
        f"replies, its events and report, and its entries in the message and phone indexes "
        f"(the suppression list is kept)"
    )
