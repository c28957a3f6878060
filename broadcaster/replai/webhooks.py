"""Parsing the bodies Replai (or Meta, through Replai) posts to our webhook.

Accepted shapes, any of them alone or several in a JSON array:

- Meta: `{"object", "entry": [{"changes": [{"field", "value"}]}]}` (see `meta_webhooks`),
  or a bare `value` with `statuses` / `messages` / `user_preferences`;
- flat status (device): `{"message_id" | "id", "status", "phone", "timestamp"}`;
- incoming message, device: `{"device_key", "name", "from", "message", "type"}`;
- incoming message, WABA: `{"device_key", "from", "message", "type": "text", "file"}`.

Unknown keys are ignored; unknown event kinds (another webhook field, a preference without
its number) are counted in `ParsedWebhook.skipped`, never an error. Plain dict walking only:
the web app ingests thousands a second.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .meta_webhooks import parse_meta_entries, parse_meta_value
from .webhook_events import (
    ErrorReport,
    IncomingMessage,
    PreferenceUpdate,
    StatusUpdate,
    WebhookEvent,
    integer,
    mapping,
    phone,
    text,
    timestamp,
)

__all__ = [
    "ErrorReport",
    "IncomingMessage",
    "ParsedWebhook",
    "PreferenceUpdate",
    "StatusUpdate",
    "WebhookEvent",
    "parse_webhook",
    "parse_webhook_events",
]

#: Keys whose array makes an object a bare Meta `value`.
_VALUE_ARRAYS = ("statuses", "messages", "user_preferences")
_TEXT_KEYS = ("text", "body", "caption", "conversation", "title", "emoji")


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """The events of a webhook body, in order, and what was skipped (kind -> count)."""

    events: list[WebhookEvent]
    skipped: dict[str, int] = field(default_factory=dict)


def parse_webhook(body: Mapping[str, Any] | list[Any]) -> list[WebhookEvent]:
    """Turn a webhook body (decoded JSON) into events, in the order they appear.

    A Meta body without statuses, messages or preferences (an account update, say) gives no
    events; `parse_webhook_events` also says what it skipped.

    Raises:
        ValueError: the body is not an object or array, matches none of the shapes,
            or a status lacks its status word or both its message id and phone.
    """
    return parse_webhook_events(body).events


def parse_webhook_events(body: Mapping[str, Any] | list[Any]) -> ParsedWebhook:
    """Like `parse_webhook`, with the count of what was skipped by kind.

    Raises:
        ValueError: as `parse_webhook`.
    """
    skipped: dict[str, int] = {}
    if isinstance(body, Mapping):
        return ParsedWebhook(_parse_object(body, skipped), skipped)
    if not isinstance(body, list):
        raise ValueError(f"webhook body must be a JSON object or array, got {_kind(body)}")
    events: list[WebhookEvent] = []
    for item in body:
        if not isinstance(item, Mapping):
            raise ValueError(f"webhook array items must be objects, got {_kind(item)}")
        events.extend(_parse_object(item, skipped))
    return ParsedWebhook(events, skipped)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _parse_object(body: Mapping[str, Any], skipped: dict[str, int]) -> list[WebhookEvent]:
    if "entry" in body:
        return parse_meta_entries(body["entry"], skipped)
    if any(isinstance(body.get(key), list) for key in _VALUE_ARRAYS):
        return parse_meta_value(body, skipped)
    has_status = isinstance(body.get("status"), str)
    if has_status and ("message_id" in body or "id" in body):
        return [_flat_status(body)]
    if "from" in body or "message" in body:
        return [_device_incoming(body)]
    if has_status:
        return [_flat_status(body)]
    keys = ", ".join(sorted(map(str, body))[:8]) or "none"
    raise ValueError(f"unrecognised webhook body (keys: {keys})")


def _flat_status(body: Mapping[str, Any]) -> StatusUpdate:
    message_id = text(body.get("message_id") or body.get("id"))
    recipient = phone(body.get("phone") or body.get("recipient_id") or body.get("to"))
    if message_id is None and recipient is None:
        raise ValueError("webhook status has neither 'message_id' nor 'phone'")
    code, title = _flat_error(body)
    return StatusUpdate(
        message_id=message_id,
        status=str(body["status"]).lower(),
        phone=recipient,
        timestamp=timestamp(body.get("timestamp")),
        error_code=code,
        error_title=title,
    )


def _flat_error(body: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """(code, title) from `errors[0]`, an `error` object or text, or `error_code`."""
    errors = body.get("errors")
    error = body.get("error")
    if isinstance(errors, list) and errors:
        error = errors[0]
    found = mapping(error)
    code = integer(body.get("error_code") or found.get("code"))
    title = body.get("error_title") or found.get("title") or found.get("message")
    if title is None and isinstance(error, str):
        title = error
    return code, text(title)


def _device_incoming(body: Mapping[str, Any]) -> IncomingMessage:
    return IncomingMessage(
        phone=phone(body.get("from") or body.get("phone")),
        name=text(body.get("name") or body.get("from_name") or body.get("pushname")),
        text=_message_text(body.get("message")),
        type=text(body.get("type")),
        device_key=text(body.get("device_key")),
        raw=body,
        message_id=text(body.get("message_id") or body.get("id")),
        timestamp=timestamp(body.get("timestamp")),
    )


def _message_text(value: Any) -> str | None:
    """A message's text: a string, or the text in `{"text": ...}` / `{"body": ...}`."""
    if value is None or isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        for key in _TEXT_KEYS:
            found = value.get(key)
            if isinstance(found, str | Mapping) and found:
                return _message_text(found)
        return None
    return str(value)
