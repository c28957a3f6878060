"""Campaign control: pause, resume, cancel, retry failed, resend unknown, archive, and test
sends."""

from typing import Annotated, Any

from fastapi import APIRouter, Body

from broadcaster import operations
from broadcaster.limits import Limits

from ..auth import ApiKey
from ..deps import ClientFactoryDep, DispatchDep, SettingsDep, StoreDep
from ..inputs import normalize_many
from ..schemas import (
    ActionResult,
    ConfirmIn,
    ErrorOut,
    TrialSendIn,
    TrialSendOut,
    TrialSendResult,
)

__all__ = ["router"]

router = APIRouter(prefix="/campaigns/{campaign_id}", tags=["control"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 409, 422, 503)
}


@router.post("/pause", response_model=ActionResult, responses=_ERRORS)
def pause(campaign_id: str, store: StoreDep) -> ActionResult:
    """Stop releasing sends at once; those already queued go back to pending."""
    return _result(operations.ActionOutcome(operations.pause(store, campaign_id)), "pause")


@router.post("/resume", response_model=ActionResult, responses=_ERRORS)
def resume(campaign_id: str, store: StoreDep, dispatch: DispatchDep) -> ActionResult:
    """Continue a paused campaign."""
    return _result(operations.resume(store, dispatch, campaign_id), "resume")


@router.post("/cancel", response_model=ActionResult, responses=_ERRORS)
def cancel(campaign_id: str, store: StoreDep) -> ActionResult:
    """Cancel every recipient not sent yet; `recipients` counts them."""
    return _result(operations.cancel(store, campaign_id), "cancel")


@router.post("/retry-failed", response_model=ActionResult, responses=_ERRORS)
def retry_failed(campaign_id: str, store: StoreDep, dispatch: DispatchDep) -> ActionResult:
    """Send again every failed recipient; `recipients` counts them."""
    return _result(operations.retry_failed(store, dispatch, campaign_id), "retry-failed")


@router.post("/resend-unknown", response_model=ActionResult, responses=_ERRORS)
def resend_unknown(
    campaign_id: str,
    store: StoreDep,
    dispatch: DispatchDep,
    body: Annotated[ConfirmIn | None, Body()] = None,
) -> ActionResult:
    """Send again the recipients whose outcome is unknown (Replai may have sent them: they
    may get the message twice). Requires the body `{"confirm": true}`."""
    confirm = body is not None and body.confirm
    done = operations.resend_unknown(store, dispatch, campaign_id, confirm=confirm)
    return _result(done, "resend-unknown")


@router.post("/archive", response_model=ActionResult, responses=_ERRORS)
def archive(campaign_id: str, store: StoreDep, settings: SettingsDep) -> ActionResult:
    """Archive a completed or cancelled campaign now, as retention does: its report goes to
    BROADCASTER_ARCHIVE_DIR as CSV.gz (and downloads from there), its recipients leave Redis,
    a summary stays; `recipients` counts those removed."""
    removal = operations.archive_campaign(store, campaign_id, settings.archive_dir)
    return _result(operations.ActionOutcome(store.get(campaign_id), removal.recipients), "archive")


def _result(done: operations.ActionOutcome, action: str) -> ActionResult:
    c = done.campaign
    return ActionResult(
        id=c.id, action=action, state=c.state.value, recipients=done.recipients, note=done.note
    )


@router.post(
    "/test-send", response_model=TrialSendOut, responses=_ERRORS | {502: {"model": ErrorOut}}
)
def test_send(
    campaign_id: str,
    body: TrialSendIn,
    store: StoreDep,
    settings: SettingsDep,
    clients: ClientFactoryDep,
) -> TrialSendOut:
    """Send the campaign's message now to a few numbers, with the given `variables`.

    Not counted in the campaign; suppressed numbers are not sent to.
    """
    campaign = store.get(campaign_id)
    phones = normalize_many(body.phones, region=settings.default_region)
    client = clients(Limits.from_settings(settings).account_for(campaign.sender, campaign.account))
    results = operations.trial_send(store, client, campaign, phones, body.variables)
    return TrialSendOut(campaign_id=campaign_id, results=[TrialSendResult.of(r) for r in results])
