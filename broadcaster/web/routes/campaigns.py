"""Campaigns: create (CSV upload or JSON recipients), list, read."""

import logging
from collections.abc import Callable
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from broadcaster.campaigns import Campaign
from broadcaster.enqueue import EnqueueResult, Source, campaign_progress, enqueue_broadcast
from broadcaster.errors import CampaignNotFound
from broadcaster.replai import ReplaiClient
from broadcaster.settings import Settings
from broadcaster.store import CampaignStore

from ..auth import ApiKey
from ..deps import ClientFactoryDep, DispatchDep, Dispatcher, SettingsDep, StoreDep
from ..errors import ApiError
from ..schemas import (
    CampaignCreate,
    CampaignCreated,
    CampaignDetail,
    CampaignFields,
    CampaignItem,
    CampaignOut,
    CampaignPage,
    ErrorOut,
    ProgressOut,
)
from ..uploads import content_type, form_fields, read_form, read_json, require_file, validate

__all__ = ["call_dispatch", "router"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/campaigns", tags=["campaigns"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 409, 413, 415, 422, 503)
}


def _create_body() -> dict[str, Any]:
    form = CampaignFields.model_json_schema()
    form["properties"]["file"] = {
        "type": "string",
        "format": "binary",
        "description": "The contacts CSV (UTF-8, cp1252 or UTF-16; , ; or tab separated).",
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
    client: ClientFactoryDep,
) -> CampaignCreated:
    """Import the contacts (a multipart CSV upload with the campaign fields, or JSON with a
    `recipients` list), store the campaign and start it (or schedule it for `send_at`).

    Rows that cannot be used are reported in `summary.errors` with their line numbers while
    the others go on; a file with no usable row is refused with 422 and nothing is stored.
    """
    kind, limit = content_type(request), settings.max_upload_bytes
    create = _Creation(settings, store, dispatch, client)
    if kind == "multipart/form-data":
        async with read_form(request, limit) as form:
            data = form_fields(form, lists=("params",))
            data.pop("file", None)
            # an HTML form sends its blank inputs as empty strings: they mean "not given"
            fields = validate(CampaignFields, {k: v for k, v in data.items() if v != ""})
            upload = require_file(form)
            result = await run_in_threadpool(create, upload.file, fields)
    elif kind == "application/json":
        body = await read_json(request, limit, CampaignCreate)
        result = await run_in_threadpool(create, body.recipients, body)
    else:
        raise ApiError(
            415,
            "send multipart/form-data with a CSV in the field 'file', "
            "or application/json with a 'recipients' list",
        )
    return CampaignCreated(
        id=result.campaign.id,
        campaign=CampaignOut.of(result.campaign),
        summary=dict(result.summary),
    )


class _Creation:
    """Enqueue a campaign, refuse an empty one, then start it (runs in a worker thread)."""

    def __init__(
        self,
        settings: Settings,
        store: CampaignStore,
        dispatch: Dispatcher,
        client: Callable[[], ReplaiClient],
    ) -> None:
        self.settings, self.store, self.dispatch, self.client = settings, store, dispatch, client

    def __call__(self, source: Source | IO[bytes], fields: CampaignFields) -> EnqueueResult:
        result = enqueue_broadcast(
            source,
            sender=fields.sender,
            text=fields.text,
            template=fields.template,
            language=fields.language,
            params=fields.params,
            channel=fields.channel,
            name=fields.name,
            send_at=fields.start_time(),
            rate_per_minute=fields.rate_per_minute,
            phone_column=fields.phone_column,
            region=self.settings.default_region,
            window=self.settings.dispatch_window,
            store=self.store,
            client=self.client() if fields.template is not None else None,
            dispatch=lambda cid: None,  # started below, so that a broker error maps to 503
        )
        cid = result.campaign.id
        try:
            call_dispatch(self.dispatch.start, cid)
        except ApiError:
            self.store.delete(cid)
            raise
        return result


def call_dispatch(task: Callable[..., object], *args: Any) -> None:
    """Hand work to the workers; a broker that cannot be reached becomes a 503."""
    try:
        task(*args)
    except Exception as exc:  # the boundary to Celery: kombu raises many kinds
        logger.exception("cannot dispatch %s%r", getattr(task, "__name__", "task"), args)
        raise ApiError(
            503,
            f"the task broker cannot be reached ({type(exc).__name__}): check "
            "BROADCASTER_BROKER_URL and that the broker is running, then try again",
        ) from exc


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
            progress = campaign_progress(campaign.id, store=store)
        except CampaignNotFound:  # deleted meanwhile
            continue
        items.append(CampaignItem(**_fields(campaign), progress=ProgressOut.of(progress)))
    total = int(store.redis.zcard(store.keys.campaigns()))
    return CampaignPage(offset=offset, limit=limit, total=total, items=items)


@router.get(
    "/{campaign_id}", response_model=CampaignDetail, responses=_ERRORS, summary="One campaign"
)
def get_campaign(campaign_id: str, store: StoreDep) -> CampaignDetail:
    """State, counts per status, send rate (recipients/s), estimated seconds to finish, and
    the import summary."""
    campaign = store.get(campaign_id)
    progress = campaign_progress(campaign_id, store=store)
    return CampaignDetail(
        **_fields(campaign),
        progress=ProgressOut.of(progress),
        summary=dict(campaign.summary),
    )


def _fields(campaign: Campaign) -> dict[str, Any]:
    return CampaignOut.of(campaign).model_dump()
