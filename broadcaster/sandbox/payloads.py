"""The webhook bodies the sandbox posts: delivery statuses and incoming messages."""

from dataclasses import dataclass
from typing import Any

from broadcaster.sandbox.scripts import MetaError

__all__ = ["SentMessage", "incoming_payload", "status_payload", "whatsapp_id"]


def whatsapp_id(phone: str) -> str:
    """The WhatsApp ID Meta reports for a number (`wa_id`, `recipient_id`, `from`): Mexican
    mobiles keep the `1` Mexico dropped from dialling in 2019 (`52 55...` -> `521 55...`),
    as `phones.whatsapp_key` documents; every other number is reported as it was sent to."""
    if phone.startswith("52") and len(phone) == 12:
        return "521" + phone[2:]
    return phone


@dataclass(frozen=True, slots=True)
class SentMessage:
    """An accepted send, as its callbacks need it.

    `sender` is the device_id, waba_id or device_key it went out on; `waba` picks Meta's
    shapes over the flat device ones.
    """

    message_id: str
    phone: str
    sender: str
    waba: bool


def status_payload(
    sent: SentMessage, status: str, timestamp: int, error: MetaError | None = None
) -> dict[str, Any]:
    """A status callback: Meta's `statuses` shape for WABA, the flat one for devices."""
    errors = [{"code": error.code, "title": error.title}] if error else None
    if not sent.waba:
        flat: dict[str, Any] = {
            "message_id": sent.message_id,
            "status": status,
            "phone": whatsapp_id(sent.phone),
            "timestamp": str(timestamp),
        }
        if errors:
            flat["errors"] = errors
        return flat
    entry: dict[str, Any] = {
        "id": sent.message_id,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": whatsapp_id(sent.phone),
    }
    if errors:
        entry["errors"] = errors
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": sent.sender},
        "statuses": [entry],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": sent.sender, "changes": [{"field": "messages", "value": value}]}],
    }


def incoming_payload(
    *, device_key: str, phone: str, message: str, waba: bool, name: str | None = None
) -> dict[str, Any]:
    """An incoming-message callback, in Replai's device or WABA shape."""
    if waba:
        return {
            "device_key": device_key,
            "from": phone,
            "message": message,
            "type": "text",
            "file": None,
        }
    return {
        "device_key": device_key,
        "name": name or f"Kontak {phone[-4:]}",
        "from": phone,
        "message": message,
        "type": "single",
    }
