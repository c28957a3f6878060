"""Campaigns: create (contact file upload or JSON recipients), list, read, delete."""

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from broadcaster import operations
from broadcaster.campaigns import Campaign
from broadcaster.errors import CampaignNotFound
from broadcaster.operations import Dispatch, EnqueueResult, LaunchDefaults, Source
from broadcaster.progress import campaign_progress
from broadcaster.replai import ReplaiClient
from broadcaster.store import CampaignStore

from ..auth import ApiKey
from ..deps import ClientFactoryDep, DefaultsDep, DispatchDep, SettingsDep, StoreDep
from ..errors import ApiError
from ..schemas import (
    CampaignCreate,
    CampaignCreated,
    CampaignDeleted,
    CampaignDetail,
    CampaignFields,
    CampaignItem,
    CampaignOut,
    CampaignPage,
    CampaignUpload,
    ErrorOut,
    ProgressOut,
    SenderShareOut,
)
from ..uploads import content_type, form_fields, read_form, read_json, require_file, validate

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/campaigns", tags=["campaigns"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 409, 413, 415, 422, 503)
}
#: What the multipart field `file` may hold (its kind is judged by its content, not its name).
CONTACT_FILE = (
    "The contacts: a CSV (UTF-8, cp1252 or UTF-16; , ; or tab separated; with or without a "
    "header), a workbook (.xlsx, .xls, .ods: the first visible sheet, or `sheet`), or a vCard "
    "file (.vcf, 2.1 to 4.0)."
)


def _create_body() -> dict[str, Any]:
    form = CampaignUpload.model_json_schema()
    form["properties"]["file"] = {
        "type": "string",
        "format": "binary",
        "description": CONTACT_FILE,
    }
    form["required"] = ["file", *form.get("required", [])]
    content = {
        "multipart/form-data": {"schema": form},
        "application/json": {"schema": CampaignCreate.model_json_schema()},
    }
    return {"requestBody": {"required": True, "content": content}}


@router.post(
    "",
    status_code=201,
    response_model=CampaignCreated,
    responses=_ERRORS,
    openapi_extra=_create_body(),
    summary="Create and start a campaign",
)
async def create_campaign(
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    dispatch: DispatchDep,
    defaults: DefaultsDep,
    client: ClientFactoryDep,
) -> CampaignCreated:
    """Import the contacts (a multipart upload of a CSV, workbook or vCard file with the
    campaign fields, or JSON with a `recipients` list), store the campaign and start it (or
    schedule it for `send_at`).

    Rows that cannot be used are reported in `summary.errors` with their line numbers while
    the others go on; a file with no usable row is refused with 422 and nothing is stored.
    """
    kind, limit = content_type(request), settings.max_upload_bytes
    launch = _Launch(store, dispatch, defaults, client)
    if kind == "multipart/form-data":
        async with read_form(request, limit) as form:
            data = form_fields(form, lists=("params", "blackout", "senders"))
            data.pop("file", None)
            # an HTML form sends its blank inputs as empty strings: they mean "not given"
            fields = validate(CampaignUpload, {k: v for k, v in data.items() if v != ""})
            upload = require_file(form)
            result = await run_in_threadpool(launch, fields, upload.file)
    elif kind == "application/json":
        body = await read_json(request, limit, CampaignCreate)
        result = await run_in_threadpool(launch, body, body.recipients)
    else:
        raise ApiError(
            415,
            "send multipart/form-data with the contact file in the field 'file', "
            "or application/json with a 'recipients' list",
        )
    return CampaignCreated(
        id=result.campaign.id,
        campaign=CampaignOut.of(result.campaign),
        summary=dict(result.summary),
    )


class _Launch:
    """`operations.launch` with the app's parts (called in a worker thread: the import and
    the Redis writes block)."""

    def __init__(
        self,
        store: CampaignStore,
        dispatch: Dispatch,
        defaults: LaunchDefaults,
        client: Callable[[str], ReplaiClient],
    ) -> None:
        self.store, self.dispatch, self.defaults, self.client = store, dispatch, defaults, client

    def __call__(self, fields: CampaignFields, source: Source) -> EnqueueResult:
        return operations.launch(
            self.store, self.dispatch, source, fields.request(),
            defaults=self.defaults, client=self.client,
        )  # fmt: skip


@router.get("", response_model=CampaignPage, responses=_ERRORS, summary="List campaigns")
def list_campaigns(
    store: StoreDep,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,  # Redis ranges stop at 2**63
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CampaignPage:
    """Campaigns with their progress, newest first."""
    items = []
    for campaign in store.list_campaigns(limit=limit, offset=offset):
        try:
            progress = campaign_progress(store, campaign.id)
        except CampaignNotFound:  # deleted meanwhile
            continue
        items.append(CampaignItem(**_fields(campaign), progress=ProgressOut.of(progress)))
    total = store.campaign_count()
    return CampaignPage(offset=offset, limit=limit, total=total, items=items)


@router.get(
    "/{campaign_id}", response_model=CampaignDetail, responses=_ERRORS, summary="One campaign"
)
def get_campaign(campaign_id: str, store: StoreDep) -> CampaignDetail:
    """State, counts per status, send rate (recipients/s), estimated seconds to finish, and
    the import summary."""
    campaign = store.get(campaign_id)
    progress = campaign_progress(store, campaign_id)
    pool = campaign.pool() if len(campaign.senders) > 1 else []
    return CampaignDetail(
        **_fields(campaign),
        progress=ProgressOut.of(progress),
        summary=dict(campaign.summary),
        pool=[
            SenderShareOut(sender=s.sender, sent=s.sent, remaining=s.remaining, state=s.state,
                           out_reason=s.out)
            for s in (store.pool_shares(campaign_id, pool) if pool else ())
        ],
    )  # fmt: skip


@router.delete(
    "/{campaign_id}", response_model=CampaignDeleted, responses=_ERRORS, summary="Delete"
)
def delete_campaign(campaign_id: str, store: StoreDep) -> CampaignDeleted:
    """Delete a campaign and everything Redis holds of it: recipients, statuses, message ids,
    replies, events, and its entries in the message and phone indexes (an archived one: its
    summary; the archive file stays). The suppression list is kept. 409 while it is running
    or scheduled (pause or cancel it first) or has sends in flight."""
    removal = operations.delete_campaign(store, campaign_id)
    return CampaignDeleted(
        id=campaign_id, recipients=removal.recipients, keys=removal.keys,
        index_entries=removal.index_entries,
    )  # fmt: skip


def _fields(campaign: Campaign) -> dict[str, Any]:
    return CampaignOut.of(campaign).model_dump()
