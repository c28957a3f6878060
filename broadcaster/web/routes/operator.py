"""What the operator page needs beyond the campaign API: a contacts preview that stores
nothing, a test message before launch, Replai's templates, the configured senders (the pool
picker), and failure reasons grouped."""

import logging
from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from broadcaster import operations
from broadcaster.channels import Channel
from broadcaster.contacts import read_contacts
from broadcaster.limits import DEFAULT_ACCOUNT
from broadcaster.operations import CampaignRequest
from broadcaster.reports import failure_groups
from broadcaster.store import CampaignStore

from ..auth import ApiKey
from ..deps import ClientFactoryDep, DefaultsDep, SettingsDep, StoreDep
from ..inputs import normalize_many
from ..schemas import ErrorOut, TrialSendResult
from ..uploads import form_fields, read_form, require_file
from .campaigns import CONTACT_FILE

__all__ = [
    "DEFAULT_PREVIEW_ROWS",
    "FailureReason",
    "FailuresOut",
    "PreviewOut",
    "PreviewRow",
    "SenderOut",
    "TemplateOut",
    "TestMessageIn",
    "router",
]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operator page"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 404, 413, 422, 502, 503)
}
#: Rows of the file returned by the preview.
DEFAULT_PREVIEW_ROWS = 10


class PreviewRow(BaseModel):
    """One importable row: its line in the file, the normalised phone, the other columns."""

    line: int
    phone: str
    variables: dict[str, str]


class PreviewOut(BaseModel):
    """What importing the file would give; nothing is stored."""

    summary: dict[str, Any] = Field(
        description="encoding, delimiter, phone_column, columns, rows, valid, duplicates, "
        "suppressed, rejected, errors [{line, reason}]; format (csv, xlsx, xls, ods, vcard), "
        "sheet and sheets (workbooks), header (false: the first line was already a number), "
        "short_rows, phone_columns [{column, kind, recipients, ignored}] best first, "
        "name_columns, and explanation: which columns gave the phone and the name, and why"
    )
    rows: list[PreviewRow] = Field(description="The first importable rows.")


class TestMessageIn(BaseModel):
    """A message to send now to one number, before a campaign exists."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel = Channel.WABA
    sender: str = Field(min_length=1, description="WABA id (waba) or device id (device).")
    text: str | None = Field(default=None, description="A text with {column} placeholders.")
    template: str | None = Field(default=None, description="A template name (or id).")
    language: str = "id"
    params: list[str] = Field(
        default_factory=list, description="Template parameters: a column name, or a literal."
    )
    phone: str = Field(min_length=1)
    variables: dict[str, str] = Field(
        default_factory=dict, description="Column values, as a recipient's row would give."
    )
    account: str | None = Field(default=None, description="Replai account (default: sender's).")


class TemplateOut(BaseModel):
    """A message template of the sender, as Replai lists it."""

    model_config = ConfigDict(from_attributes=True)

    id: str | None
    name: str | None
    language: str | None
    status: str | None
    category: str | None
    body: str | None
    param_count: int
    approved: bool


class FailureReason(BaseModel):
    """Failed recipients with one code, its most frequent reason, and how many."""

    code: str
    reason: str
    count: int


class FailuresOut(BaseModel):
    """A campaign's failed recipients grouped by code, most frequent first."""

    campaign_id: str
    total: int
    reasons: list[FailureReason]


@router.post(
    "/campaigns/preview",
    response_model=PreviewOut,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": CONTACT_FILE,
                            },
                            "phone_column": {"type": "string"},
                            "sheet": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
    summary="Preview a contacts file",
)
async def preview_contacts(request: Request, store: StoreDep, settings: SettingsDep) -> PreviewOut:
    """Read a contact file (CSV, workbook or vCard) the way `POST /campaigns` would (same
    detection, column choice, normalisation, duplicates, suppression and row errors) and
    answer the summary and the first rows; store nothing.

    A file without a recognisable phone column answers 422 with its `columns` (and a
    workbook's `sheets`, to choose another).
    """
    async with read_form(request, settings.max_upload_bytes) as form:
        upload = require_file(form)
        fields = form_fields(form)
        return await run_in_threadpool(
            _preview,
            store,
            upload.file,
            settings.default_region,
            column=fields.get("phone_column") or None,
            sheet=fields.get("sheet") or None,
        )


def _preview(
    store: CampaignStore, file: IO[bytes], region: str, *, column: str | None, sheet: str | None
) -> PreviewOut:
    rows: list[PreviewRow] = []
    with read_contacts(
        file, phone_column=column, region=region, suppressed=store.blocked(), sheet=sheet
    ) as contacts:
        for contact in contacts:  # read to the end: the counts cover the whole file
            if len(rows) < DEFAULT_PREVIEW_ROWS:
                rows.append(PreviewRow(line=contact.line, phone=contact.phone,
                                       variables=contact.variables))  # fmt: skip
    return PreviewOut(summary=contacts.summary.to_dict(), rows=rows)


@router.post(
    "/messages/test", response_model=TrialSendResult, responses=_ERRORS, summary="Test message"
)
def test_message(
    body: TestMessageIn,
    store: StoreDep,
    settings: SettingsDep,
    clients: ClientFactoryDep,
    defaults: DefaultsDep,
) -> TrialSendResult:
    """Send a message to one number now, as a campaign with these fields would send it to a
    recipient whose row has `variables`. Nothing is stored; a suppressed number is not sent to.
    """
    (phone,) = normalize_many([body.phone], region=settings.default_region)
    request = CampaignRequest(
        sender=body.sender, text=body.text, template=body.template, language=body.language,
        params=body.params, channel=body.channel, name="test message", account=body.account,
    )  # fmt: skip
    campaign = request.campaign(list(body.variables))
    account = defaults.limits.account_for(campaign.sender, campaign.account)
    (result,) = operations.trial_send(store, clients(account), campaign, [phone], body.variables)
    return TrialSendResult.of(result)


@router.get("/templates", response_model=list[TemplateOut], responses=_ERRORS)
def list_templates(
    clients: ClientFactoryDep,
    defaults: DefaultsDep,
    sender: Annotated[str, Query(min_length=1, description="WABA id or device id.")],
    account: Annotated[
        str | None, Query(description="Replai account (default: the sender's).")
    ] = None,
) -> list[TemplateOut]:
    """The sender's message templates from Replai, with their parameter counts."""
    client = clients(defaults.limits.account_for(sender, account))
    return [TemplateOut.model_validate(t) for t in client.get_templates(sender)]


class SenderOut(BaseModel):
    """A sender the deployment configures (BROADCASTER_SENDERS), for the page's pool picker."""

    id: str
    account: str
    rate_per_minute: float = Field(description="Its own rate, else Meta's per number.")


@router.get("/senders", response_model=list[SenderOut], responses=_ERRORS)
def list_senders(defaults: DefaultsDep) -> list[SenderOut]:
    """The configured senders, by id: a pool may name them (and any other sender id)."""
    limits = defaults.limits
    return [
        SenderOut(
            id=sid, account=own.get("account") or DEFAULT_ACCOUNT,
            rate_per_minute=own.get("rate") or limits.sender_per_minute,
        )
        for sid, own in sorted(limits.senders.items())
    ]  # fmt: skip


@router.get("/campaigns/{campaign_id}/failures", response_model=FailuresOut, responses=_ERRORS)
def failure_reasons(campaign_id: str, store: StoreDep) -> FailuresOut:
    """Failed recipients grouped by code (Meta's, or the HTTP status), most frequent first,
    each with its most frequent reason (read in buckets, never all at once)."""
    groups = failure_groups(store, campaign_id)
    reasons = [FailureReason(code=g.code, reason=g.reason, count=g.count) for g in groups]
    return FailuresOut(campaign_id=campaign_id, total=sum(g.count for g in groups),
                       reasons=reasons)  # fmt: skip
