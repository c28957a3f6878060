"""A person's data: export everything held about a number (subject access), or erase it.

`DELETE /contacts/{phone}` removes the number from every campaign (live and archived), the
replies and the indexes; it stays on the suppression list as a keyed hash (HMAC under
`BROADCASTER_ERASURE_SECRET`), so it is never messaged again and is refused at the next
import. See `broadcaster.operations.erasure`.
"""

from typing import Any

from fastapi import APIRouter

from broadcaster import operations

from ..auth import ApiKey
from ..deps import SettingsDep, StoreDep
from ..inputs import normalize_many
from ..schemas import ErrorOut

__all__ = ["router"]

router = APIRouter(prefix="/contacts", tags=["contacts"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 422, 503)}


@router.get("/{phone}", responses=_ERRORS, summary="Everything held about a number")
def contact_data(phone: str, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """Everything held about a number, as JSON: its suppression entry (`erased` when it was
    erased), the campaign that last messaged it, the daily-cap sets it is in, and every
    recipient row with it, live (`archived: false`) and in archived reports."""
    (normalized,) = normalize_many([phone], region=settings.default_region)
    return operations.contact_data(store, normalized)


@router.delete("/{phone}", responses=_ERRORS, summary="Erase a number")
def forget(phone: str, store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """Erase a number from every campaign, live and archived, and from the indexes; it stays
    blocked by its keyed hash. Answers what was removed: recipient records per campaign,
    archived rows per campaign, and the suppression source it had (503 without
    BROADCASTER_ERASURE_SECRET)."""
    (normalized,) = normalize_many([phone], region=settings.default_region)
    [done] = operations.forget(store, [normalized])
    return done.to_dict()
