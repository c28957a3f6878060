"""Replai webhooks into the campaign store: delivery statuses, replies and opt-outs.

Replai posts each webhook once, unsigned, without retries, so this takes what it gets:
it de-duplicates identical bodies, matches statuses by message id and replies by the number
that was last messaged, and never lets a status move backwards (a late `delivered` after
`read` changes nothing).
"""

import dataclasses
import hashlib
import json
import logging
from collections.abc import Collection

from .campaigns import RecipientStatus
from .phones import mask_phone, normalize_phone
from .replai import IncomingMessage, StatusUpdate, parse_webhook
from .store import CampaignStore

__all__ = ["WebhookOutcome", "handle_webhook"]

logger = logging.getLogger(__name__)

_STATUSES = {
    "sent": RecipientStatus.SENT,
    "delivered": RecipientStatus.DELIVERED,
    "read": RecipientStatus.READ,
    "failed": RecipientStatus.FAILED,
}


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """What one webhook body changed."""

    duplicate: bool = False
    statuses: int = 0
    ignored: int = 0
    replies: int = 0
    opted_out: int = 0


def handle_webhook(
    store: CampaignStore, body: bytes, *, opt_out_keywords: Collection[str]
) -> WebhookOutcome:
    """Apply one webhook body to the store.

    Raises:
        ValueError: the body is not JSON or matches no known webhook shape (nothing changed).
    """
    try:
        payload = json.loads(body)
        events = parse_webhook(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"webhook body is not JSON: {exc}") from None
    except RecursionError:
        raise ValueError("webhook body is nested too deeply") from None
    for event in events:
        _check_text(event)
    if not store.first_time(hashlib.sha256(body).hexdigest()[:32]):
        return WebhookOutcome(duplicate=True)
    keywords = {k.strip().upper() for k in opt_out_keywords}
    statuses = ignored = replies = opted_out = 0
    for event in events:
        if isinstance(event, StatusUpdate):
            if _apply_status(store, event):
                statuses += 1
            else:
                ignored += 1
        elif isinstance(event, IncomingMessage):
            replied, stopped = _apply_reply(store, event, keywords)
            replies += replied
            opted_out += stopped
    return WebhookOutcome(False, statuses, ignored, replies, opted_out)


def _check_text(event: IncomingMessage | StatusUpdate) -> None:
    # JSON may escape half a UTF-16 surrogate pair; such a string cannot be stored or logged.
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"webhook field {field.name!r} is not valid Unicode") from None


def _apply_status(store: CampaignStore, event: StatusUpdate) -> bool:
    status = _STATUSES.get((event.status or "").lower())
    if status is None or not event.message_id:
        return False
    error = None
    if status is RecipientStatus.FAILED:
        error = f"{event.error_code or '-'}: {event.error_title or 'failed'}"
    return store.apply_status(event.message_id, status, error=error)


def _apply_reply(
    store: CampaignStore, event: IncomingMessage, keywords: set[str]
) -> tuple[int, int]:
    try:
        phone = normalize_phone(event.phone or "")
    except ValueError:
        logger.info("webhook: reply from an unusable number ignored")
        return 0, 0
    text = (event.text or "").strip()
    stop = text.upper() in keywords
    if stop:
        store.suppress([phone])
        logger.info("webhook: %s opted out", mask_phone(phone))
    cid = store.record_reply(phone, text, opted_out=stop)
    return (1 if cid else 0), (1 if stop else 0)
