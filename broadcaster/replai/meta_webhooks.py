"""Meta's WhatsApp Cloud API webhook bodies: `{"object", "entry": [{"changes": [...]}]}`.

Each change has a `field` and a `value`. Two fields matter to a broadcast tool:

- `messages`: `value.statuses[]` (what became of the messages we sent), `value.messages[]`
  (what people sent us: text, quick-reply `button`, `interactive` replies, `reaction`,
  media with captions, `unsupported`...), and `value.errors[]` (system-, app- or
  account-level errors that concern no single message);
- `user_preferences`: `value.user_preferences[]`, a person stopping or resuming marketing
  messages from the business (Meta's "Offers and announcements" setting).

Any other field is counted in `skipped` under `field:<name>`, never an error. Shapes follow
Meta's webhook reference (developers.facebook.com/documentation/business-messaging/whatsapp/
webhooks/reference/messages/*, .../user_preferences); tests/data/webhooks/ holds its samples.
"""

from collections.abc import Mapping
from typing import Any

from .webhook_events import (
    EMPTY,
    ErrorReport,
    IncomingMessage,
    PreferenceUpdate,
    StatusUpdate,
    WebhookEvent,
    count,
    error_details,
    first_error,
    integer,
    items,
    mapping,
    phone,
    text,
    timestamp,
)

__all__ = ["parse_meta_entries", "parse_meta_value"]

#: The kinds of interactive reply: a reply button tapped, a list row chosen.
_REPLY_KEYS = ("button_reply", "list_reply")

#: Where the text of the other message types is: `text.body`, a media `caption`, `order.text`.
_TEXT_KEYS = ("body", "caption", "text")


def parse_meta_entries(entries: Any, skipped: dict[str, int]) -> list[WebhookEvent]:
    """The events of a Meta body's `entry` array, in order; other fields counted in `skipped`.

    Raises:
        ValueError: `entry` is not an array, or a status lacks what identifies it.
    """
    if not isinstance(entries, list):
        kind = "null" if entries is None else type(entries).__name__
        raise ValueError(f"webhook 'entry' must be an array, got {kind}")
    events: list[WebhookEvent] = []
    for entry in entries:
        for change in mapping(entry).get("changes") or ():
            change = mapping(change)
            value = change.get("value")
            name = change.get("field")
            if not (type(value) is dict or isinstance(value, Mapping)):
                count(skipped, "change without a value")
            elif name in (None, "messages", "user_preferences"):
                events.extend(parse_meta_value(value, skipped))
            else:
                count(skipped, f"field:{str(name)[:40]}")
    return events


def parse_meta_value(value: Mapping[str, Any], skipped: dict[str, int]) -> list[WebhookEvent]:
    """The events of one change's `value`: statuses, messages, errors, user preferences.

    Raises:
        ValueError: a status lacks its status word, or both its id and its recipient.
    """
    events: list[WebhookEvent] = [_status(item) for item in items(value.get("statuses"))]
    device = text(mapping(value.get("metadata")).get("phone_number_id"))
    messages = items(value.get("messages"))
    if messages:
        names = _contact_names(value.get("contacts"))
        events.extend(_incoming(item, names, device) for item in messages)
    for error in items(value.get("errors")):
        events.append(_error_report(error, device))
    if "user_preferences" in value:
        events.extend(_preferences(value, device, skipped))
    return events


def _status(item: Mapping[str, Any]) -> StatusUpdate:
    status = item.get("status")
    if not isinstance(status, str) or not status:
        raise ValueError("webhook status has no 'status' word")
    message_id = text(item.get("id"))
    recipient = phone(item.get("recipient_id"))
    if message_id is None and recipient is None:
        raise ValueError("webhook status has neither 'id' nor 'recipient_id'")
    code = title = details = category = billable = None
    error = first_error(item.get("errors"))
    if error:
        code, details = integer(error.get("code")), error_details(error)
        title = text(error.get("title") or error.get("message"))
    pricing = mapping(item.get("pricing"))
    if pricing:
        category, billable = text(pricing.get("category")), pricing.get("billable")
    if category is None and "conversation" in item:
        origin = mapping(mapping(item["conversation"]).get("origin"))
        category = text(origin.get("type"))
    return StatusUpdate(
        message_id, status.lower(), recipient, timestamp(item.get("timestamp")),
        code, title, details, category, billable if isinstance(billable, bool) else None,
        text(item.get("biz_opaque_callback_data")),
    )  # fmt: skip


def _incoming(
    item: Mapping[str, Any], names: Mapping[str, str], device: str | None
) -> IncomingMessage:
    sender = phone(item.get("from"))
    kind = text(item.get("type"))
    message_text, payload, context_id = _content(kind, item.get(kind or "text"))
    error = first_error(item.get("errors"))
    return IncomingMessage(
        phone=sender,
        name=names.get(sender or "") or names.get(""),
        text=message_text,
        type=kind,
        device_key=device,
        raw=item,
        message_id=text(item.get("id")),
        timestamp=timestamp(item.get("timestamp")),
        context_id=context_id or text(mapping(item.get("context")).get("id")),
        payload=payload,
        error_code=integer(error.get("code")),
        error_title=text(error.get("title") or error.get("message")),
    )


def _content(kind: str | None, part: Any) -> tuple[str | None, str | None, str | None]:
    """(text, button payload, id of the message it refers to) of a message's typed part."""
    if isinstance(part, str):
        return part or None, None, None
    body = mapping(part)
    if kind == "button":  # a template's quick-reply button
        return text(body.get("text")), text(body.get("payload")), None
    if kind == "interactive":  # a reply button or a list row
        for key in _REPLY_KEYS:
            reply = mapping(body.get(key))
            if reply:
                return text(reply.get("title")), text(reply.get("id")), None
        return None, None, None
    if kind == "reaction":  # no emoji: the reaction was removed
        return text(body.get("emoji")), None, text(body.get("message_id"))
    for key in _TEXT_KEYS:
        found = body.get(key)
        if isinstance(found, str) and found:
            return found, None, None
    return None, None, None


def _contact_names(contacts: Any) -> dict[str, str]:
    """wa_id -> profile name; the first name is also kept under "" as a fallback."""
    names: dict[str, str] = {}
    for contact in items(contacts):
        name = mapping(contact.get("profile")).get("name")
        if isinstance(name, str):
            names.setdefault("", name)
            names[phone(contact.get("wa_id")) or ""] = name
    return names


def _error_report(error: Mapping[str, Any], device: str | None) -> ErrorReport:
    return ErrorReport(
        code=integer(error.get("code")),
        title=text(error.get("title") or error.get("message")),
        details=error_details(error),
        device_key=device,
    )


def _preferences(
    value: Mapping[str, Any], device: str | None, skipped: dict[str, int]
) -> list[WebhookEvent]:
    """`user_preferences[]`; an item without its `wa_id` falls back to `contacts[0]`."""
    contacts = items(value.get("contacts"))
    fallback = phone(contacts[0].get("wa_id")) if contacts else None
    events: list[WebhookEvent] = []
    for item in items(value.get("user_preferences")) or [EMPTY]:
        who = phone(item.get("wa_id")) or fallback
        preference = text(item.get("value"))
        if who is None or preference is None:
            count(skipped, "user_preferences without wa_id or value")
            continue
        events.append(
            PreferenceUpdate(
                phone=who,
                value=preference.lower(),
                category=text(item.get("category")),
                detail=text(item.get("detail")),
                timestamp=timestamp(item.get("timestamp")),
                device_key=device,
            )
        )
    return events
