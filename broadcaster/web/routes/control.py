"""Campaign control: pause, resume, cancel, retry failed, resend unknown, and test sends."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body

from broadcaster.campaigns import Campaign, CampaignState, RecipientStatus
from broadcaster.errors import CampaignStateError, ReplaiError
from broadcaster.phones import mask_phone
from broadcaster.replai import ReplaiClient
from broadcaster.store import CampaignStore

from ..auth import ApiKey
from ..deps import ClientDep, DispatchDep, Dispatcher, SettingsDep, StoreDep
from ..errors import ApiError
from ..inputs import normalize_many
from ..schemas import (
    ActionResult,
    ConfirmIn,
    ErrorOut,
    TrialSendIn,
    TrialSendOut,
    TrialSendResult,
)
from .campaigns import call_dispatch

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/campaigns/{campaign_id}", tags=["control"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 409, 422, 503)
}
#: The reason shown for a campaign an operator paused.
PAUSED_REASON = "paused by an operator"


@router.post("/pause", response_model=ActionResult, responses=_ERRORS)
def pause(campaign_id: str, store: StoreDep) -> ActionResult:
    """Stop releasing sends; those already queued go back to pending."""
    store.pause(campaign_id, PAUSED_REASON)
    return _result(store.get(campaign_id), "pause")


@router.post("/resume", status_code=202, response_model=ActionResult, responses=_ERRORS)
def resume(campaign_id: str, store: StoreDep, dispatch: DispatchDep) -> ActionResult:
    """Continue a paused campaign (a worker resumes it: 202)."""
    campaign = store.get(campaign_id)
    if campaign.state != CampaignState.PAUSED:
        raise CampaignStateError(
            f"cannot resume a {campaign.state} campaign: only a paused campaign can be resumed"
        )
    call_dispatch(dispatch.resume, campaign_id)
    return _result(campaign, "resume")


@router.post("/cancel", response_model=ActionResult, responses=_ERRORS)
def cancel(campaign_id: str, store: StoreDep) -> ActionResult:
    """Cancel every recipient not sent yet; `recipients` counts them."""
    cancelled = store.cancel(campaign_id)
    return _result(store.get(campaign_id), "cancel", cancelled)


@router.post("/retry-failed", status_code=202, response_model=ActionResult, responses=_ERRORS)
def retry_failed(campaign_id: str, store: StoreDep, dispatch: DispatchDep) -> ActionResult:
    """Send again every failed recipient; `recipients` counts them."""
    return _requeue(campaign_id, RecipientStatus.FAILED, store, dispatch, "retry-failed")


@router.post("/resend-unknown", status_code=202, response_model=ActionResult, responses=_ERRORS)
def resend_unknown(
    campaign_id: str,
    store: StoreDep,
    dispatch: DispatchDep,
    body: Annotated[ConfirmIn | None, Body()] = None,
) -> ActionResult:
    """Send again the recipients whose outcome is unknown (Replai may have sent them: they
    may get the message twice). Requires the body `{"confirm": true}`."""
    if body is None or not body.confirm:
        raise ApiError(
            422,
            "unknown recipients may already have the message and would get it twice: "
            'send {"confirm": true} to resend them anyway',
        )
    return _requeue(campaign_id, RecipientStatus.UNKNOWN, store, dispatch, "resend-unknown")


def _requeue(
    cid: str, status: RecipientStatus, store: CampaignStore, dispatch: Dispatcher, action: str
) -> ActionResult:
    campaign = store.get(cid)
    if campaign.state in (CampaignState.CANCELLED, CampaignState.DRAFT):
        raise CampaignStateError(f"cannot {action} a {campaign.state} campaign")
    count = store.counts(cid)[status.label]
    if count:
        call_dispatch(dispatch.requeue, cid, int(status))
    return _result(campaign, action, count)


def _result(campaign: Campaign, action: str, recipients: int | None = None) -> ActionResult:
    return ActionResult(
        id=campaign.id, action=action, state=campaign.state.value, recipients=recipients
    )


@router.post(
    "/test-send", response_model=TrialSendOut, responses=_ERRORS | {502: {"model": ErrorOut}}
)
def test_send(
    campaign_id: str,
    body: TrialSendIn,
    store: StoreDep,
    settings: SettingsDep,
    client: ClientDep,
) -> TrialSendOut:
    """Send the campaign's message now to a few numbers, with the given `variables`.

    Not counted in the campaign; suppressed numbers are not sent to.
    """
    campaign = store.get(campaign_id)
    phones = normalize_many(body.phones, region=settings.default_region)
    missing = [name for name in campaign.variables if name not in body.variables]
    if missing:
        raise ApiError(422, f"the message needs variables {missing}: give them in 'variables'")
    text, params = campaign.message_for(body.variables)
    results = []
    for phone in phones:
        if store.is_suppressed(phone):
            results.append(TrialSendResult(phone=phone, ok=False, error="on the suppression list"))
            continue
        results.append(_send_one(client, campaign, phone, text, params))
    return TrialSendOut(campaign_id=campaign_id, results=results)


def _send_one(
    client: ReplaiClient, campaign: Campaign, phone: str, text: str | None, params: list[str]
) -> TrialSendResult:
    try:
        sent = client.send(
            channel=campaign.channel,
            sender=campaign.sender,
            phone=phone,
            text=text,
            template=campaign.template,
            params=params,
            language=campaign.language,
            ref=f"{campaign.id}:test",
        )
    except ReplaiError as exc:
        logger.info("test send of %s to %s failed: %s", campaign.id, mask_phone(phone), exc)
        return TrialSendResult(phone=phone, ok=False, error=exc.reason)
    return TrialSendResult(phone=phone, ok=True, message_id=sent.message_id)
