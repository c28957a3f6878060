"""A campaign's recipients: paged JSON and the streamed CSV report."""

import csv
import io
import itertools
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from broadcaster.store import CampaignStore, RecipientRow

from ..auth import ApiKey
from ..deps import StoreDep
from ..schemas import STATUS_PATTERN, ErrorOut, RecipientOut, RecipientPage, timestamp

__all__ = ["neutralize", "router"]

router = APIRouter(prefix="/campaigns/{campaign_id}", tags=["reports"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 404, 422)}
#: Report rows written per chunk of the streamed CSV.
DEFAULT_CHUNK_ROWS = 1000
#: The report's first columns; the message's variables follow.
REPORT_COLUMNS = (
    "index", "phone", "status", "attempts", "updated_at", "message_id", "error", "reply",
)  # fmt: skip
#: A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    rows = itertools.islice(store.iter_rows(campaign_id, status=status), offset, offset + limit)
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
    variables = store.get(campaign_id).variables
    return StreamingResponse(
        _report_chunks(store, campaign_id, variables),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}-report.csv"'},
    )


def _report_chunks(store: CampaignStore, cid: str, variables: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralize(c) for c in (*REPORT_COLUMNS, *variables)])
    for n, row in enumerate(store.iter_rows(cid), start=1):
        writer.writerow([neutralize(cell) for cell in _cells(row, variables)])
        if n % DEFAULT_CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _cells(row: RecipientRow, variables: list[str]) -> list[str]:
    updated = timestamp(row.updated_at)
    return [
        str(row.index), row.phone, row.status, str(row.attempts),
        updated.strftime("%Y-%m-%dT%H:%M:%SZ") if updated else "",
        row.message_id or "", row.error or "", row.reply or "",
        *(row.variables.get(name, "") for name in variables),
    ]  # fmt: skip


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def neutralize(cell: str) -> str:
    """Prefix `'` to a cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`...)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell
