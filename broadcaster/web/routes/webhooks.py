"""POST /webhooks/replai/{secret}: delivery statuses and replies from Replai.

Replai posts once, unsigned, without retrying, so the receiving URL carries a secret and the
body is applied at once (a few Redis commands) before answering. A wrong secret answers 404
as if the route did not exist; with `BROADCASTER_WEBHOOK_HMAC_SECRET` set, a body without a
valid `X-Signature-256: sha256=<hex>` header answers 401. Neither changes anything.
"""

import hashlib
import hmac
import logging

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from broadcaster.callbacks import handle_webhook
from broadcaster.settings import Settings

from ..deps import SettingsDep, StoreDep
from ..errors import ApiError
from ..schemas import ErrorOut, WebhookAck
from ..uploads import limited

__all__ = ["SIGNATURE_HEADER", "router", "sign"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

#: The header a signing gateway puts the body's HMAC in.
SIGNATURE_HEADER = "X-Signature-256"
#: Largest webhook body accepted, in bytes (Replai's are a few hundred).
DEFAULT_MAX_WEBHOOK_BYTES = 1024 * 1024


def sign(secret: str, body: bytes) -> str:
    """The signature header value for a body: `sha256=<hex HMAC-SHA256>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@router.post(
    "/replai/{secret}",
    response_model=WebhookAck,
    responses={code: {"model": ErrorOut} for code in (401, 404, 413, 422)},
    summary="Receive Replai webhooks",
)
async def replai_webhook(
    secret: str, request: Request, settings: SettingsDep, store: StoreDep
) -> WebhookAck:
    """Apply a Replai webhook: delivery statuses (Meta's `entry[].changes[].value.statuses[]`
    or flat `{message_id, status, phone}`) and incoming messages (`{from, message, ...}`).

    Statuses move recipients to delivered, read or failed (never backwards); replies are
    kept per recipient; an opt-out keyword (STOP, BERHENTI, UNSUBSCRIBE...) puts the number
    on the suppression list. A body seen before is acknowledged and ignored.

    The path ends with `BROADCASTER_WEBHOOK_SECRET`; a wrong secret answers 404, and while
    no secret is configured this route answers 404 to everything.
    """
    _check_secret(settings, secret)
    body = await limited(request, DEFAULT_MAX_WEBHOOK_BYTES).body()
    _check_signature(settings, body, request.headers.get(SIGNATURE_HEADER))
    try:
        outcome = await run_in_threadpool(
            handle_webhook, store, body, opt_out_keywords=settings.opt_out_keywords
        )
    except ValueError as exc:
        raise ApiError(422, f"not a Replai webhook: {exc}") from None
    return WebhookAck(
        duplicate=outcome.duplicate,
        statuses=outcome.statuses,
        ignored=outcome.ignored,
        replies=outcome.replies,
        opted_out=outcome.opted_out,
    )


def _check_secret(settings: Settings, secret: str) -> None:
    expected = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise ApiError(404, "Not Found")


def _check_signature(settings: Settings, body: bytes, header: str | None) -> None:
    if settings.webhook_hmac_secret is None:
        return
    expected = sign(settings.webhook_hmac_secret.get_secret_value(), body)
    if header is None or not hmac.compare_digest(header.strip().encode(), expected.encode()):
        logger.warning("webhook refused: missing or wrong %s", SIGNATURE_HEADER)
        raise ApiError(401, f"missing or wrong {SIGNATURE_HEADER} signature")
