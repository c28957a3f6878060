"""A campaign's recipients: paged JSON and the streamed CSV report (`broadcaster.reports`)."""

import itertools
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from broadcaster.reports import iter_csv, recipient_rows

from ..auth import ApiKey
from ..deps import StoreDep
from ..schemas import STATUS_PATTERN, ErrorOut, RecipientOut, RecipientPage

__all__ = ["router"]

router = APIRouter(prefix="/campaigns/{campaign_id}", tags=["reports"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 404, 422)}


@router.get("/recipients", response_model=RecipientPage, responses=_ERRORS)
def list_recipients(
    campaign_id: str,
    store: StoreDep,
    status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RecipientPage:
    """Recipients in file order, optionally only those in one status."""
    campaign = store.get(campaign_id)
    total = store.counts(campaign_id)[status] if status else campaign.total
    rows = itertools.islice(recipient_rows(store, campaign, status=status), offset, offset + limit)
    return RecipientPage(
        campaign_id=campaign_id,
        status=status,
        offset=offset,
        limit=limit,
        total=total,
        items=[RecipientOut.of(row) for row in rows],
    )


@router.get(
    "/report.csv",
    response_class=StreamingResponse,
    responses=_ERRORS | {200: {"content": {"text/csv": {}}, "description": "The CSV report."}},
)
def report_csv(campaign_id: str, store: StoreDep) -> StreamingResponse:
    """Every recipient with status, attempts, last change (UTC), message id, error, reply and
    the message's variables. Cells a spreadsheet would run as a formula get a `'` in front."""
    store.get(campaign_id)  # 404 before the stream starts
    return StreamingResponse(
        iter_csv(store, campaign_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}-report.csv"'},
    )
