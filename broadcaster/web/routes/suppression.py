"""The suppression list: numbers that are never messaged (opt-outs, complaints).

A number added here is skipped by running campaigns when its turn comes (the claim checks
the list) and dropped from every later import (counted as `suppressed` in the summary). Each
keeps its source (the person's opt-out from a webhook: keyword, button, user_preferences,
failed_131050; an operator's: manual, import) and time.
"""

from typing import IO, Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from broadcaster.contacts import read_contacts
from broadcaster.optouts import OptOutSource
from broadcaster.store import CampaignStore

from ..auth import ApiKey
from ..deps import SettingsDep, StoreDep
from ..errors import ApiError
from ..inputs import normalize_many
from ..schemas import (
    ErrorOut,
    SuppressedNumber,
    SuppressionAdded,
    SuppressionImported,
    SuppressionIn,
    SuppressionPage,
    SuppressionRemoved,
)
from ..uploads import form_fields, read_form, require_file

__all__ = ["router"]

router = APIRouter(prefix="/suppression", tags=["suppression"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 422)}
#: Numbers written to Redis per command while importing a file.
DEFAULT_BATCH = 5_000


@router.get("", response_model=SuppressionPage, responses=_ERRORS)
def list_suppressed(
    store: StoreDep,
    q: Annotated[str | None, Query(description="Only numbers containing these digits.")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SuppressionPage:
    """Suppressed numbers (E.164 digits), sorted, each with how it got on the list
    (`source`) and when."""
    entries = store.suppression_entries()
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        entries = [e for e in entries if digits in e.phone]
    items = [SuppressedNumber.of(e) for e in entries[offset : offset + limit]]
    return SuppressionPage(offset=offset, limit=limit, total=len(entries), items=items)


@router.post("", response_model=SuppressionAdded, responses=_ERRORS)
def add_suppressed(
    body: SuppressionIn, store: StoreDep, settings: SettingsDep
) -> SuppressionAdded:
    """Add numbers (typed any way; they are normalised). Invalid numbers refuse the lot."""
    phones = normalize_many(body.phones, region=settings.default_region)
    return SuppressionAdded(added=store.suppress(phones), phones=phones)


@router.delete(
    "/{phone}", response_model=SuppressionRemoved, responses=_ERRORS | {404: {"model": ErrorOut}}
)
def remove_suppressed(phone: str, store: StoreDep, settings: SettingsDep) -> SuppressionRemoved:
    """Take a number off the list: later campaigns may message it again."""
    (normalized,) = normalize_many([phone], region=settings.default_region)
    if not store.unsuppress([normalized]):
        raise ApiError(404, f"{normalized} is not on the suppression list")
    return SuppressionRemoved(phone=normalized, removed=True)


@router.post(
    "/import",
    response_model=SuppressionImported,
    responses=_ERRORS | {413: {"model": ErrorOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "phone_column": {"type": "string"},
                        },
                    }
                }
            },
        }
    },
)
async def import_suppressed(
    request: Request, store: StoreDep, settings: SettingsDep
) -> SuppressionImported:
    """Add every number of a CSV (multipart field `file`; `phone_column` optional).

    `summary.suppressed` counts numbers already on the list; bad rows are in
    `summary.errors` with their line numbers.
    """
    async with read_form(request, settings.max_upload_bytes) as form:
        upload = require_file(form)
        column = form_fields(form).get("phone_column") or None
        return await run_in_threadpool(
            _import, store, upload.file, column, settings.default_region
        )


def _import(
    store: CampaignStore, file: IO[bytes], column: str | None, region: str
) -> SuppressionImported:
    added, batch = 0, []
    with read_contacts(
        file, phone_column=column, region=region, suppressed=store.blocked()
    ) as contacts:
        for contact in contacts:
            batch.append(contact.phone)
            if len(batch) >= DEFAULT_BATCH:
                added += store.suppress(batch, source=OptOutSource.IMPORT)
                batch.clear()
        added += store.suppress(batch, source=OptOutSource.IMPORT)
    return SuppressionImported(added=added, summary=contacts.summary.to_dict())
