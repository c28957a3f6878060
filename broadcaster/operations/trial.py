"""Test sends: a campaign's message to a few numbers now, outside any campaign."""

import dataclasses
import logging
from collections.abc import Mapping, Sequence

from broadcaster.campaigns import Campaign
from broadcaster.errors import CampaignInvalid, ReplaiError
from broadcaster.phones import mask_phone
from broadcaster.replai import ReplaiClient
from broadcaster.store import CampaignStore

__all__ = ["TrialResult", "trial_send"]

logger = logging.getLogger(__name__)


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
