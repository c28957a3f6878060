"""A person's data: erase a number (`forget`), or export everything held about it
(`contact_data`, a subject access request).

Erasure takes the number out of every campaign: in Redis, each recipient record with it keeps
only the number's keyed hash (its status and error stay, so the counts still add up), and its
message id, reply and index entries go; in archived reports (`archives.blank_numbers`) its
rows are rewritten with the phone, message id, reply and variables emptied. The suppression
entry, or a new one, becomes the keyed hash: the number stays blocked, and is refused at the
next import. Callbacks held for an unrecorded message (at most `webhook_hold_seconds`) are
not searched: they expire.
"""

import dataclasses
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from broadcaster import archives
from broadcaster.campaigns import Campaign
from broadcaster.errors import CampaignNotFound
from broadcaster.phones import mask_phone
from broadcaster.store import CampaignStore, RecipientRow

__all__ = ["Forgotten", "contact_data", "forget"]

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Forgotten:
    """What erasing one number removed."""

    phone: str
    #: Recipient records in Redis, by campaign id.
    recipients: dict[str, int]
    #: Rows blanked in archived reports, by campaign id.
    archived: dict[str, int]
    #: The source it was suppressed by before (None: it was not; now it is, as `erased`).
    suppressed_by: str | None

    def to_dict(self) -> dict[str, Any]:
        """As JSON for the API and the command line."""
        return dataclasses.asdict(self)


def forget(store: CampaignStore, phones: Iterable[str]) -> list[Forgotten]:
    """Erase numbers (E.164 digits) from every campaign, live and archived, and the indexes;
    keep them blocked by their keyed hash.

    Raises:
        ConfigurationError: `BROADCASTER_ERASURE_SECRET` is not set.
    """
    wanted = list(dict.fromkeys(phones))
    for phone in wanted:
        store.keyed(phone)  # fails before anything is changed when there is no secret
    found: dict[str, dict[str, int]] = {p: {} for p in wanted}
    for cid, index, phone in list(store.find_recipients(set(wanted))):
        store.erase_recipient(cid, index, phone)
        found[phone][cid] = found[phone].get(cid, 0) + 1
    archived: dict[str, dict[str, int]] = {p: {} for p in wanted}
    for campaign in _archived(store):
        path = Path(campaign.archive or "")
        if not path.exists():
            continue
        for phone in wanted:
            blanked = archives.blank_numbers(path, {phone})
            if blanked:
                archived[phone][campaign.id] = blanked
    done = []
    for phone in wanted:
        source = store.erase_number(phone)
        done.append(Forgotten(phone, found[phone], archived[phone], source))
        logger.info("erased %s: %d campaigns", mask_phone(phone), len(found[phone]))
    return done


def contact_data(store: CampaignStore, phone: str) -> dict[str, Any]:
    """Everything held about a number, as JSON: suppression entry, the campaign that last
    messaged it, daily-cap sets, and every recipient row with it, live and archived."""
    rows = []
    for cid, index, _ in store.find_recipients({phone}):
        campaign = store.get(cid)
        rows.append(_row_json(campaign, store.row(cid, index)))
    for campaign in _archived(store):
        path = Path(campaign.archive or "")
        if path.exists():
            for row in archives.read_rows(path):
                if row.get("phone") == phone:
                    rows.append({"campaign_id": campaign.id, "campaign": campaign.name,
                                 "archived": True, **row})  # fmt: skip
    entry = store.redis.hget(store.keys.suppression(), phone)
    erased = store.erasure_secret is not None and store.is_suppressed(store.keyed(phone))
    last = store.find_phone(phone)
    return {
        "phone": phone,
        "suppression": entry.decode() if entry else None,
        "erased": erased,
        "last_messaged_by": f"{last[0]}:{last[1]}" if last else None,
        "daily_caps": store.daily_sets(phone),
        "recipients": rows,
    }


def _archived(store: CampaignStore) -> list[Campaign]:
    found = []
    for raw in store.redis.zrange(store.keys.campaigns(), 0, -1):
        try:
            campaign = store.get(raw.decode())
        except CampaignNotFound:  # deleted meanwhile
            continue
        if campaign.archive:
            found.append(campaign)
    return found


def _row_json(campaign: Campaign, row: RecipientRow) -> dict[str, Any]:
    return {"campaign_id": campaign.id, "campaign": campaign.name, "archived": False,
            **dataclasses.asdict(row)}  # fmt: skip
