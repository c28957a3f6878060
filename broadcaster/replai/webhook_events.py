"""The events a webhook body holds, and the readers that turn JSON values into their fields.

Every event carries its own time (`timestamp`, Unix seconds as a float) when the body has one:
Meta's bodies arrive out of order and late, so an event's time, not its arrival, orders it.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "ErrorReport",
    "IncomingMessage",
    "PreferenceUpdate",
    "StatusUpdate",
    "WebhookEvent",
]

EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A message a contact sent to one of our devices or WABA numbers.

    `device_key` is the receiving device's key; in Meta's shape, the `phone_number_id`.
    `type` is the message type (`text`, `button`, `interactive`, `reaction`, `image`...,
    or Replai's `single` / `group` for device chats). `payload` is what a tapped button
    carries: a template quick-reply's `button.payload`, an interactive reply's `id`.
    `context_id` is the id of the message this one answers or reacts to.
    """

    phone: str | None
    name: str | None
    text: str | None
    type: str | None
    device_key: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    message_id: str | None = None
    timestamp: float | None = None
    context_id: str | None = None
    payload: str | None = None
    error_code: int | None = None
    error_title: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery status of a message we sent: `sent`, `delivered`, `read`, `failed`...

    `category` is the pricing category (or the conversation's origin when there is no
    pricing), `callback_data` the `biz_opaque_callback_data` the send carried.
    """

    message_id: str | None
    status: str
    phone: str | None
    timestamp: float | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None
    category: str | None = None
    billable: bool | None = None
    callback_data: str | None = None


@dataclass(frozen=True, slots=True)
class PreferenceUpdate:
    """Meta's `user_preferences`: a person stopped or resumed marketing messages.

    `value` is `stop` or `resume` and `category` `marketing_messages` in every body Meta
    documents; others are passed on as they are, for the reader to ignore.
    """

    phone: str
    value: str
    category: str | None
    detail: str | None = None
    timestamp: float | None = None
    device_key: str | None = None


@dataclass(frozen=True, slots=True)
class ErrorReport:
    """A system-, app- or account-level error Meta reports in `value.errors` (no message)."""

    code: int | None
    title: str | None
    details: str | None = None
    device_key: str | None = None


WebhookEvent = IncomingMessage | StatusUpdate | PreferenceUpdate | ErrorReport


def count(skipped: dict[str, int], kind: str) -> None:
    """Count one more skipped event of `kind`."""
    skipped[kind] = skipped.get(kind, 0) + 1


def first_error(value: Any) -> Mapping[str, Any]:
    """`errors[0]` of an item, or an empty mapping."""
    return mapping(value[0]) if isinstance(value, list) and value else EMPTY


def error_details(error: Mapping[str, Any]) -> str | None:
    """`error_data.details` of a Meta error object."""
    return text(mapping(error.get("error_data")).get("details"))


def items(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON array; anything else gives none."""
    if not isinstance(value, list):
        return []
    return [item for item in value if type(item) is dict or isinstance(item, Mapping)]


def mapping(value: Any) -> Mapping[str, Any]:
    """A JSON object, or an empty mapping for anything else."""
    # json gives dicts: testing the type first skips the slower ABC check
    if type(value) is dict or isinstance(value, Mapping):
        return value
    return EMPTY


def text(value: Any) -> str | None:
    """A value as text; None for null and "" ."""
    return None if value is None or value == "" else str(value)


def phone(value: Any) -> str | None:
    """A phone number or WhatsApp JID (`628...@s.whatsapp.net`) as the number."""
    if value is None or value == "":
        return None
    return str(value).split("@", 1)[0]


def integer(value: Any) -> int | None:
    """An int from a number or a numeric string."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def timestamp(value: Any) -> float | None:
    """Unix seconds from a number, a numeric string or an ISO 8601 string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        try:
            seconds = datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return seconds if math.isfinite(seconds) else None
