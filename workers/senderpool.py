"""A pool campaign's send path (`broadcaster.pools`): each recipient goes out through its own
sender of the pool, with that sender's limits and its account's client; a sender-level error
(`ReplaiSenderBlocked`: 419 device not connected, 131042 payment, restricted, auth) takes the
sender out of the campaign, and its recipients move to the others as they come up."""

import dataclasses
import logging
from typing import TYPE_CHECKING

from broadcaster.campaigns import Campaign
from broadcaster.errors import ReplaiError
from broadcaster.pools import assign

if TYPE_CHECKING:
    from .sendpath import Resources

__all__ = ["sender_of", "taken_out"]

logger = logging.getLogger(__name__)


def sender_of(res: "Resources", campaign: Campaign, index: int) -> Campaign:
    """The campaign as recipient `index` sends it: through its sender of the pool (its stored
    byte; moved, and the byte rewritten, when that sender is out), so that its limits
    (`Limits.chain`) and its account are that sender's."""
    if len(campaign.senders) < 2:
        return campaign
    number, out = res.store.sender_of(campaign.id, index)
    pool = campaign.pool()
    if number is None or number >= len(pool):
        number = 0
    if pool[number] in out and len(out) < len(pool):
        phone = res.store.row(campaign.id, index).phone
        number = assign(phone, pool, out=list(out))
        res.store.reassign(campaign.id, index, number)
    key = f"{campaign.id}\x00{pool[number]}"
    one = res.campaigns.get(key)
    if one is None:
        one = res.campaigns[key] = dataclasses.replace(campaign, sender=pool[number])
    return one


def taken_out(res: "Resources", campaign: Campaign, exc: ReplaiError) -> bool:
    """Take a pool campaign's sender out after a sender-level error. False when the campaign
    has no pool, or every sender is now out: it pauses then (the caller), its senders all
    back in for the resume."""
    if len(campaign.senders) < 2:
        return False
    out = res.store.take_out(campaign.id, campaign.sender, exc.reason)
    logger.error("campaign %s: sender %s out of its pool: %s", campaign.id, campaign.sender,
                 exc.reason)  # fmt: skip
    if len(out) < len(campaign.senders):
        return True
    res.store.bring_back(campaign.id)
    return False
