"""Typed results of Replai calls, built tolerantly from whatever the API answered.

Each model has a `from_api(data)` constructor that takes the `data` of an envelope (a
dict), accepts the field names seen in the wild, ignores unknown keys and never raises
on a missing optional field. Only plain dict walking: these run on the send hot path.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Chat",
    "ChatMessage",
    "DeviceStatus",
    "LoginResult",
    "ProfilePhoto",
    "SendResult",
    "Template",
    "WaContact",
]

_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
_CONNECTED_WORDS = frozenset({"connected", "open", "online", "active", "ready", "authenticated"})
_EMPTY: Mapping[str, Any] = {}


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    """Return the first value among `keys` that is present and not None."""
    for key in keys:
        value = data.get(key)
        if value is not None:
            return value
    return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _phone(value: Any) -> str | None:
    """`628123@s.whatsapp.net` -> `628123`; numbers become strings."""
    if value is None or value == "":
        return None
    return str(value).split("@", 1)[0].split(":", 1)[0]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _EMPTY


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The token from `/api/login` or `/api/register`, and the user it belongs to."""

    token: str | None
    user: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "LoginResult":
        """Build from the answer or its `data`: `token` (`access_token`) and `user`."""
        token = _first(data, "token", "access_token", "api_token")
        user = data.get("user")
        inner = _mapping(data.get("data"))
        if token is None:
            token = _first(inner, "token", "access_token", "api_token")
        if user is None:
            user = inner.get("user")
        return cls(token=_text(token), user=dict(_mapping(user)))

    def __repr__(self) -> str:
        # Never print the token, e.g. in a traceback or a log line.
        return f"LoginResult(token={'***' if self.token else None}, user={self.user!r})"


@dataclass(frozen=True, slots=True)
class WaContact:
    """A contact of the WhatsApp device."""

    phone: str | None
    name: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "WaContact":
        """Build from a contact (`phone`/`number`/`jid`/`id`, `name`/`notify`)."""
        phone = _phone(_first(data, "phone", "number", "jid", "id", "wa_id"))
        name = _first(data, "name", "notify", "pushname", "verified_name", "verifiedName")
        return cls(phone=phone, name=_text(name))


@dataclass(frozen=True, slots=True)
class Chat:
    """A conversation in the device's chat list."""

    phone: str | None
    name: str | None = None
    last_message: str | None = None
    unread_count: int = 0
    timestamp: float | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "Chat":
        """Build from a chat object of `/api/wa/chats`."""
        last = _first(data, "last_message", "lastMessage", "message")
        if isinstance(last, Mapping):
            last = _first(last, "text", "message", "body")
        return cls(
            phone=_phone(_first(data, "phone", "number", "jid", "id")),
            name=_text(_first(data, "name", "notify", "pushname")),
            last_message=_text(last),
            unread_count=_int(_first(data, "unread_count", "unreadCount", "unread")) or 0,
            timestamp=_float(_first(data, "timestamp", "last_message_at", "t")),
        )


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a conversation (`/api/wa/chat/{phone}`)."""

    id: str | None
    text: str | None = None
    from_me: bool = False
    type: str | None = None
    timestamp: float | None = None
    phone: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "ChatMessage":
        """Build from a message; `from_me` also reads `fromMe` and `direction`."""
        key = _mapping(data.get("key"))
        from_me = _first(data, "from_me", "fromMe")
        if from_me is None:
            from_me = key.get("fromMe")
        if from_me is None:
            from_me = str(data.get("direction", "")).lower() in (
                "out",
                "outgoing",
                "sent",
            )
        return cls(
            id=_text(_first(data, "id", "message_id") or key.get("id")),
            text=_text(_first(data, "text", "message", "body", "caption")),
            from_me=bool(from_me),
            type=_text(data.get("type")),
            timestamp=_float(_first(data, "timestamp", "t", "created_at")),
            phone=_phone(_first(data, "phone", "from", "remoteJid") or key.get("remoteJid")),
        )


@dataclass(frozen=True, slots=True)
class SendResult:
    """What Replai answered to a send. WABA text sends may carry no message id."""

    message_id: str | None
    phone: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any, raw: Mapping[str, Any] | None = None) -> "SendResult":
        """Build from a device answer (`id`, `phone`) or Meta's (`messages[0].id`).

        Args:
            data: the envelope's `data`, of any type (missing or odd data gives no id).
            raw: the whole answer, kept for debugging; defaults to `data`.
        """
        body = _mapping(data)
        message_id = _first(body, "id", "message_id", "wamid", "messageId")
        phone = _first(body, "phone", "to", "recipient")
        messages = body.get("messages")
        if message_id is None and isinstance(messages, list) and messages:
            message_id = _mapping(messages[0]).get("id")
        contacts = body.get("contacts")
        if phone is None and isinstance(contacts, list) and contacts:
            phone = _first(_mapping(contacts[0]), "wa_id", "input")
        if message_id is None:
            message_id = _mapping(body.get("key")).get("id")
        return cls(
            message_id=_text(message_id),
            phone=_phone(phone),
            raw=raw if raw is not None else body,
        )


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """Whether a device (or WABA number) is connected and can send."""

    connected: bool
    status: str | None = None
    phone: str | None = None
    name: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(cls, data: Any) -> "DeviceStatus":
        """Build from `connected: bool` and/or a `status` word (`connected`, `open`)."""
        body = _mapping(data)
        status = _first(body, "status", "state", "connection")
        connected = _first(body, "connected", "is_connected", "isConnected")
        if connected is None:
            connected = status is True or str(status).lower() in _CONNECTED_WORDS
        return cls(
            connected=bool(connected),
            status=None if isinstance(status, bool) else _text(status),
            phone=_phone(_first(body, "phone", "number", "wa_number", "jid")),
            name=_text(_first(body, "name", "device_name", "pushname")),
            raw=body,
        )


@dataclass(frozen=True, slots=True)
class Template:
    """A message template; `param_count` comes from `{{n}}` in `body` when absent."""

    id: str | None
    name: str | None
    language: str | None = None
    status: str | None = None
    category: str | None = None
    body: str | None = None
    param_count: int = 0

    @property
    def approved(self) -> bool:
        """True when Meta approved the template (or the API gives no status at all)."""
        return self.status is None or self.status.upper() == "APPROVED"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "Template":
        """Build from a template object; Meta's `components` give the body if needed."""
        body = _first(data, "body", "text", "content", "message")
        if body is None:
            for component in data.get("components") or ():
                part = _mapping(component)
                if str(part.get("type", "")).upper() == "BODY":
                    body = part.get("text")
                    break
        count = _int(_first(data, "param_count", "params_count", "variables_count"))
        if count is None:
            count = _count_placeholders(_text(body) or "")
        return cls(
            id=_text(_first(data, "id", "template_id", "name")),
            name=_text(_first(data, "name", "template_name", "id")),
            language=_text(_first(data, "language", "lang", "template_lang")),
            status=_text(data.get("status")),
            category=_text(data.get("category")),
            body=_text(body),
            param_count=count,
        )


def _count_placeholders(body: str) -> int:
    """The number of positional parameters of a template body: its highest `{{n}}`."""
    return max((int(n) for n in _PLACEHOLDER.findall(body)), default=0)


@dataclass(frozen=True, slots=True)
class ProfilePhoto:
    """A contact's profile photo URL; None when the contact hides it or has none."""

    phone: str | None
    url: str | None

    @classmethod
    def from_api(cls, data: Any, phone: str | None = None) -> "ProfilePhoto":
        """Build from `{"url": ...}` (or `photo`, `profile_picture`), or a bare URL."""
        if isinstance(data, str):
            return cls(phone=phone, url=data or None)
        body = _mapping(data)
        url = _first(body, "url", "photo", "profile_picture", "profilePicture", "image", "img")
        return cls(
            phone=_phone(_first(body, "phone", "number", "jid")) or phone,
            url=_text(url),
        )
