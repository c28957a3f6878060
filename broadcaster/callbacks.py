"""Replai webhooks into the campaign store: delivery statuses, replies and opt-outs.

Replai posts each webhook once, unsigned, without retries, so this takes what it gets:
it de-duplicates identical bodies, matches statuses by message id and replies by the number
that was last messaged, and never lets a status move backwards (a late `delivered` after
`read` changes nothing).

`read_webhook` parses and checks a body without I/O; the store applies all of it in one Lua
script (`CampaignStore.apply_webhook`, or `webhook_call` from async code), and `outcome`
says what changed. `handle_webhook` does the three in a row.
"""

import dataclasses
import hashlib
import json
import logging
from collections.abc import Collection

from .campaigns import RecipientStatus
from .phones import mask_phone, normalize_phone
from .replai import IncomingMessage, StatusUpdate, WebhookEvent, parse_webhook
from .store import CampaignStore

__all__ = ["WebhookChanges", "WebhookOutcome", "handle_webhook", "outcome", "read_webhook"]

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


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookChanges:
    """What one webhook body asks of the store, read and checked before any of it is applied.

    Args:
        digest: the body's digest, for de-duplication.
        statuses: (message id, status, error or "") of each usable status.
        replies: (phone, text, opted out) of each reply from a usable number.
        ignored: statuses that cannot apply (an unknown status word, no message id).
    """

    digest: str
    statuses: list[tuple[str, RecipientStatus, str]]
    replies: list[tuple[str, str, bool]]
    ignored: int


def read_webhook(body: bytes, *, opt_out_keywords: Collection[str]) -> WebhookChanges:
    """Parse and check one webhook body; nothing is read or written yet.

    Raises:
        ValueError: the body is not JSON or matches no known webhook shape.
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
    keywords = {k.strip().upper() for k in opt_out_keywords}
    statuses: list[tuple[str, RecipientStatus, str]] = []
    replies: list[tuple[str, str, bool]] = []
    ignored = 0
    for event in events:
        if isinstance(event, StatusUpdate):
            change = _status_change(event)
            if change is None:
                ignored += 1
            else:
                statuses.append(change)
        elif isinstance(event, IncomingMessage):
            reply = _reply(event, keywords)
            if reply is not None:
                replies.append(reply)
    return WebhookChanges(hashlib.sha256(body).hexdigest()[:32], statuses, replies, ignored)


def handle_webhook(
    store: CampaignStore, body: bytes, *, opt_out_keywords: Collection[str]
) -> WebhookOutcome:
    """Apply one webhook body to the store, in one Redis round trip.

    Raises:
        ValueError: the body is not JSON or matches no known webhook shape (nothing changed).
    """
    changes = read_webhook(body, opt_out_keywords=opt_out_keywords)
    applied = store.apply_webhook(changes.digest, changes.statuses, changes.replies)
    return outcome(changes, applied)


def outcome(changes: WebhookChanges, applied: tuple[bool, int, int]) -> WebhookOutcome:
    """The outcome of `changes` given what the store applied (`CampaignStore.apply_webhook`)."""
    duplicate, statuses, replies = applied
    if duplicate:
        return WebhookOutcome(duplicate=True)
    stopped = [phone for phone, _, stop in changes.replies if stop]
    for phone in stopped:
        logger.info("webhook: %s opted out", mask_phone(phone))
    ignored = changes.ignored + len(changes.statuses) - statuses
    return WebhookOutcome(False, statuses, ignored, replies, len(stopped))


def _check_text(event: WebhookEvent) -> None:
    # JSON may escape half a UTF-16 surrogate pair; such a string cannot be stored or logged.
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"webhook field {field.name!r} is not valid Unicode") from None


def _status_change(event: StatusUpdate) -> tuple[str, RecipientStatus, str] | None:
    status = _STATUSES.get((event.status or "").lower())
    if status is None or not event.message_id:
        return None
    error = ""
    if status is RecipientStatus.FAILED:
        error = f"{event.error_code or '-'}: {event.error_title or 'failed'}"
    return event.message_id, status, error


def _reply(event: IncomingMessage, keywords: set[str]) -> tuple[str, str, bool] | None:
    try:
        phone = normalize_phone(event.phone or "")
    except ValueError:
        logger.info("webhook: reply from an unusable number ignored")
        return None
    text = (event.text or "").strip()
    return phone, text, text.upper() in keywords
