"""Parsing the bodies Replai (or Meta, through Replai) posts to our webhook.

Accepted shapes, any of them alone or several in a JSON array:

- Meta: `{"object", "entry": [{"changes": [{"value": {"statuses", "messages"}}]}]}`
  (a bare `value` with `statuses` / `messages` too);
- flat status (device): `{"message_id" | "id", "status", "phone", "timestamp"}`;
- incoming message, device: `{"device_key", "name", "from", "message", "type"}`;
- incoming message, WABA: `{"device_key", "from", "message", "type": "text", "file"}`.

Unknown keys are ignored. Plain dict walking only: the web app ingests thousands a
second.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["IncomingMessage", "StatusUpdate", "WebhookEvent", "parse_webhook"]


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message a contact sent to one of our devices or WABA numbers.

    `device_key` is the receiving device's key; in Meta's shape, the `phone_number_id`.
    """

    phone: str | None
    name: str | None
    text: str | None
    type: str | None
    device_key: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status of a message we sent: `sent`, `delivered`, `read`, `failed`."""

    message_id: str | None
    status: str
    phone: str | None
    timestamp: float | None = None
    error_code: int | None = None
    error_title: str | None = None


WebhookEvent = IncomingMessage | StatusUpdate
_EMPTY: Mapping[str, Any] = {}
_TEXT_KEYS = ("text", "body", "caption", "conversation", "title", "emoji")


def parse_webhook(body: Mapping[str, Any] | list[Any]) -> list[WebhookEvent]:
    """Turn a webhook body (decoded JSON) into events, in the order they appear.

    A Meta body without statuses or messages (an account update, say) gives no events.

    Raises:
        ValueError: the body is not an object or array, matches none of the shapes,
            or a status lacks its status word or both its message id and phone.
    """
    if isinstance(body, Mapping):
        return _parse_object(body)
    if isinstance(body, list):
        events: list[WebhookEvent] = []
        for item in body:
            if not isinstance(item, Mapping):
                raise ValueError(f"webhook array items must be objects, got {_kind(item)}")
            events.extend(_parse_object(item))
        return events
    raise ValueError(f"webhook body must be a JSON object or array, got {_kind(body)}")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _parse_object(body: Mapping[str, Any]) -> list[WebhookEvent]:
    if "entry" in body:
        return _parse_meta(body["entry"])
    if isinstance(body.get("statuses"), list) or isinstance(body.get("messages"), list):
        return _parse_meta_value(body)
    has_status = isinstance(body.get("status"), str)
    if has_status and ("message_id" in body or "id" in body):
        return [_flat_status(body)]
    if "from" in body or "message" in body:
        return [_device_incoming(body)]
    if has_status:
        return [_flat_status(body)]
    keys = ", ".join(sorted(map(str, body))[:8]) or "none"
    raise ValueError(f"unrecognised webhook body (keys: {keys})")


def _parse_meta(entries: Any) -> list[WebhookEvent]:
    if not isinstance(entries, list):
        raise ValueError(f"webhook 'entry' must be an array, got {_kind(entries)}")
    events: list[WebhookEvent] = []
    for entry in entries:
        for change in _mapping(entry).get("changes") or ():
            value = _mapping(change).get("value")
            if isinstance(value, Mapping):
                events.extend(_parse_meta_value(value))
    return events


def _parse_meta_value(value: Mapping[str, Any]) -> list[WebhookEvent]:
    events: list[WebhookEvent] = [_meta_status(s) for s in _items(value.get("statuses"))]
    messages = _items(value.get("messages"))
    if messages:
        names = _contact_names(value.get("contacts"))
        device = _text(_mapping(value.get("metadata")).get("phone_number_id"))
        events.extend(_meta_incoming(m, names, device) for m in messages)
    return events


def _meta_status(item: Mapping[str, Any]) -> StatusUpdate:
    status = item.get("status")
    if not isinstance(status, str) or not status:
        raise ValueError("webhook status has no 'status' word")
    message_id = _text(item.get("id"))
    phone = _phone(item.get("recipient_id"))
    if message_id is None and phone is None:
        raise ValueError("webhook status has neither 'id' nor 'recipient_id'")
    errors = item.get("errors")
    error = _mapping(errors[0]) if isinstance(errors, list) and errors else _EMPTY
    return StatusUpdate(
        message_id=message_id,
        status=status.lower(),
        phone=phone,
        timestamp=_timestamp(item.get("timestamp")),
        error_code=_int(error.get("code")),
        error_title=_text(error.get("title") or error.get("message")),
    )


def _meta_incoming(
    item: Mapping[str, Any], names: Mapping[str, str], device: str | None
) -> IncomingMessage:
    phone = _phone(item.get("from"))
    kind = _text(item.get("type"))
    return IncomingMessage(
        phone=phone,
        name=names.get(phone or "") or names.get(""),
        text=_message_text(item.get(kind or "text")) if kind != "interactive" else _reply(item),
        type=kind,
        device_key=device,
        raw=item,
        message_id=_text(item.get("id")),
    )


def _reply(item: Mapping[str, Any]) -> str | None:
    interactive = _mapping(item.get("interactive"))
    for key in ("button_reply", "list_reply"):
        reply = _mapping(interactive.get(key))
        if reply:
            return _text(reply.get("title"))
    return None


def _contact_names(contacts: Any) -> dict[str, str]:
    """wa_id -> profile name; the first name is also kept under "" as a fallback."""
    names: dict[str, str] = {}
    for contact in _items(contacts):
        name = _mapping(contact.get("profile")).get("name")
        if isinstance(name, str):
            names.setdefault("", name)
            names[_phone(contact.get("wa_id")) or ""] = name
    return names


def _flat_status(body: Mapping[str, Any]) -> StatusUpdate:
    message_id = _text(body.get("message_id") or body.get("id"))
    phone = _phone(body.get("phone") or body.get("recipient_id") or body.get("to"))
    if message_id is None and phone is None:
        raise ValueError("webhook status has neither 'message_id' nor 'phone'")
    code, title = _flat_error(body)
    return StatusUpdate(
        message_id=message_id,
        status=str(body["status"]).lower(),
        phone=phone,
        timestamp=_timestamp(body.get("timestamp")),
        error_code=code,
        error_title=title,
    )


def _flat_error(body: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """(code, title) from `errors[0]`, an `error` object or text, or `error_code`."""
    errors = body.get("errors")
    error = body.get("error")
    if isinstance(errors, list) and errors:
        error = errors[0]
    found = _mapping(error)
    code = _int(body.get("error_code") or found.get("code"))
    title = body.get("error_title") or found.get("title") or found.get("message")
    if title is None and isinstance(error, str):
        title = error
    return code, _text(title)


def _device_incoming(body: Mapping[str, Any]) -> IncomingMessage:
    return IncomingMessage(
        phone=_phone(body.get("from") or body.get("phone")),
        name=_text(body.get("name") or body.get("from_name") or body.get("pushname")),
        text=_message_text(body.get("message")),
        type=_text(body.get("type")),
        device_key=_text(body.get("device_key")),
        raw=body,
        message_id=_text(body.get("message_id") or body.get("id")),
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


def _items(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _EMPTY


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _phone(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value).split("@", 1)[0]


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _timestamp(value: Any) -> float | None:
    """Unix seconds from a number, a numeric string or an ISO 8601 string."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
