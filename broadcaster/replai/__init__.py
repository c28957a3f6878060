"""The Replai.id API: client, typed results, error classification, webhook parsing."""

from .classify import error_from_response, meta_code, parse_retry_after
from .client import ReplaiClient
from .models import (
    Chat,
    ChatMessage,
    DeviceStatus,
    LoginResult,
    ProfilePhoto,
    SendResult,
    Template,
    WaContact,
)
from .webhooks import (
    ErrorReport,
    IncomingMessage,
    ParsedWebhook,
    PreferenceUpdate,
    StatusUpdate,
    WebhookEvent,
    parse_webhook,
    parse_webhook_events,
)

__all__ = [
    "Chat",
    "ChatMessage",
    "DeviceStatus",
    "ErrorReport",
    "IncomingMessage",
    "LoginResult",
    "ParsedWebhook",
    "PreferenceUpdate",
    "ProfilePhoto",
    "ReplaiClient",
    "SendResult",
    "StatusUpdate",
    "Template",
    "WaContact",
    "WebhookEvent",
    "error_from_response",
    "meta_code",
    "parse_retry_after",
    "parse_webhook",
    "parse_webhook_events",
]
