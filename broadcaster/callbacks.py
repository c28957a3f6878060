"""Replai webhooks into the campaign store: delivery statuses, replies and opt-outs.

Replai posts each webhook once, unsigned, without retries, so this takes what it gets:
it de-duplicates identical bodies, holds a callback that beats the worker's record of its
message id until that record is made, keeps the furthest status a message reached whatever
the order its callbacks arrive in, routes a reply to the message it answers (or the campaign
that last messaged the number), and records every opt-out with its source and time (the
rules are in `store.webhooks` and `store.suppression`).

`read_webhook` parses and checks a body without I/O into a `WebhookChanges` (statuses,
replies, opt-outs and opt-ins, each with its own time; see `webhook_changes`); the store
applies it in one Lua script (`CampaignStore.apply_webhook`, or `webhook_call` from async
code), and `outcome` says what changed. `handle_webhook` does the three in a row.
"""

import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Collection

from .campaigns import RecipientStatus
from .optouts import (
    DEFAULT_OPT_OUT_BUTTONS,
    OPTED_OUT_CODE,
    OptOutSource,
    is_opt_out,
    opt_out_phrases,
)
from .phones import mask_phone, normalize_phone, whatsapp_key
from .replai import (
    ErrorReport,
    IncomingMessage,
    PreferenceUpdate,
    StatusUpdate,
    WebhookEvent,
    parse_webhook_events,
)
from .replai.webhook_events import count
from .store import CampaignStore, WebhookResult, WebhookRules
from .webhook_changes import OptIn, OptOut, Reply, StatusChange, WebhookChanges

__all__ = ["WebhookChanges", "WebhookOutcome", "handle_webhook", "outcome", "read_webhook"]

logger = logging.getLogger(__name__)

_STATUSES = {
    "sent": RecipientStatus.SENT,
    "delivered": RecipientStatus.DELIVERED,
    "read": RecipientStatus.READ,
    "failed": RecipientStatus.FAILED,
}
#: Message types whose tap is a button: a template quick reply, an interactive reply.
_BUTTON_KINDS = frozenset({"button", "interactive"})
#: Replai's device chats: the message is text.
_DEVICE_KINDS = frozenset({"single", "group"})
#: Messages that are no reply: WhatsApp's notice of a changed number, a first chat opened.
_NOT_REPLIES = frozenset({"system", "request_welcome"})
#: A JSON escape of half a UTF-16 surrogate pair: the only way a lone surrogate gets in.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_MARKETING = "marketing_messages"
_PREFERENCES = ("stop", "resume")


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """What one webhook body changed.

    `statuses` moved a recipient; `held` wait for their message id to be recorded;
    `ignored` changed nothing (not further along, not ours, no usable kind); `replies`
    found their campaign; `opted_out` opt-outs were recorded, `resumed` lifted.
    """

    duplicate: bool = False
    statuses: int = 0
    held: int = 0
    ignored: int = 0
    replies: int = 0
    opted_out: int = 0
    resumed: int = 0

    def to_json(self) -> dict[str, object]:
        """The webhook route's answer."""
        return {
            "ok": True, "duplicate": self.duplicate, "statuses": self.statuses,
            "held": self.held, "ignored": self.ignored, "replies": self.replies,
            "opted_out": self.opted_out, "resumed": self.resumed,
        }  # fmt: skip


def read_webhook(
    body: bytes,
    *,
    opt_out_keywords: Collection[str],
    opt_out_buttons: Collection[str] = DEFAULT_OPT_OUT_BUTTONS,
) -> WebhookChanges:
    """Parse and check one webhook body; nothing is read or written yet.

    A typed reply opts its sender out when its whole text is one of `opt_out_keywords`; a
    tapped button, when its label or payload is one of `opt_out_buttons` or of the keywords
    (see `optouts`).

    Raises:
        ValueError: the body is not JSON or matches no known webhook shape.
    """
    try:
        parsed = parse_webhook_events(json.loads(body))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"webhook body is not JSON: {exc}") from None
    except RecursionError:
        raise ValueError("webhook body is nested too deeply") from None
    if _SURROGATE_ESCAPE.search(body):
        for event in parsed.events:
            _check_text(event)
    reader = _Reader(hashlib.sha256(body).hexdigest()[:32], opt_out_keywords, opt_out_buttons)
    reader.skipped = parsed.skipped
    for event in parsed.events:
        reader.read(event)
    return reader.changes()


def handle_webhook(
    store: CampaignStore,
    body: bytes,
    *,
    rules: WebhookRules,
    opt_out_keywords: Collection[str],
    opt_out_buttons: Collection[str] = DEFAULT_OPT_OUT_BUTTONS,
) -> WebhookOutcome:
    """Apply one webhook body to the store, in one Redis round trip.

    Raises:
        ValueError: the body is not JSON or matches no known webhook shape (nothing changed).
    """
    changes = read_webhook(
        body, opt_out_keywords=opt_out_keywords, opt_out_buttons=opt_out_buttons
    )
    return outcome(changes, store.apply_webhook(changes, rules))


def outcome(changes: WebhookChanges, applied: WebhookResult) -> WebhookOutcome:
    """The outcome of `changes` given what the store did (`CampaignStore.apply_webhook`)."""
    if applied.duplicate:
        return WebhookOutcome(duplicate=True)
    if applied.opted_out:
        for opt_out in changes.opt_outs:
            logger.info("webhook: %s opted out (%s)", mask_phone(opt_out.phone), opt_out.source)
    for error in changes.errors:
        logger.warning("webhook: provider error %s: %s", error.code, error.title)
    return WebhookOutcome(
        False, applied.statuses, applied.held, changes.ignored + applied.unchanged,
        applied.replies, applied.opted_out, applied.lifted,
    )  # fmt: skip


class _Reader:
    """Turns parsed events into a `WebhookChanges`, one event at a time."""

    def __init__(self, digest: str, keywords: Collection[str], buttons: Collection[str]) -> None:
        self.digest = digest
        self.keywords, self.buttons = keywords, buttons
        self.statuses: list[StatusChange] = []
        self.replies: list[Reply] = []
        self.opt_outs: list[OptOut] = []
        self.opt_ins: list[OptIn] = []
        self.errors: list[ErrorReport] = []
        self.skipped: dict[str, int] = {}

    def read(self, event: WebhookEvent) -> None:
        if isinstance(event, StatusUpdate):
            self.status(event)
        elif isinstance(event, IncomingMessage):
            self.incoming(event)
        elif isinstance(event, PreferenceUpdate):
            self.preference(event)
        else:
            self.errors.append(event)

    def changes(self) -> WebhookChanges:
        return WebhookChanges(
            self.digest, self.statuses, self.replies, self.opt_outs, self.opt_ins,
            self.errors, sum(self.skipped.values()), self.skipped,
        )  # fmt: skip

    def status(self, event: StatusUpdate) -> None:
        status = _STATUSES.get(event.status)
        if status is None or not event.message_id:
            count(
                self.skipped, _label("status", event.status) if status is None else "status:no id"
            )
            return
        phone = _key(event.phone)
        error = ""
        if status is RecipientStatus.FAILED:
            error = f"{event.error_code or '-'}: {event.error_title or 'failed'}"
            if event.error_code == OPTED_OUT_CODE:
                self.opt_outs.append(
                    OptOut(phone, OptOutSource.FAILED_131050, event.timestamp, event.message_id)
                )
        self.statuses.append(
            StatusChange(event.message_id, status, event.timestamp, error, event.error_code, phone)
        )

    def incoming(self, event: IncomingMessage) -> None:
        phone = _key(event.phone)
        if phone is None:
            logger.info("webhook: reply from an unusable number ignored")
            count(self.skipped, "reply from an unusable number")
            return
        kind = "text" if event.type in _DEVICE_KINDS else event.type or "text"
        if kind in _NOT_REPLIES:
            count(self.skipped, _label("message", kind))
            return
        if kind == "reaction" and not event.text:
            count(self.skipped, "reaction removed")
            return
        text = (event.text or "").strip()
        if kind in _BUTTON_KINDS:  # a tapped label or payload: buttons, and keywords too
            source, phrases = OptOutSource.BUTTON, opt_out_phrases(self.buttons, self.keywords)
        else:  # typed text: the keywords alone, as the operator set them
            source, phrases = OptOutSource.KEYWORD, opt_out_phrases(self.keywords)
        stop = is_opt_out((text, event.payload), phrases)
        if stop:
            self.opt_outs.append(OptOut(phone, source, event.timestamp, event.message_id))
        context = event.context_id
        self.replies.append(
            Reply(phone, text, event.timestamp, context, kind, event.message_id, stop)
        )

    def preference(self, event: PreferenceUpdate) -> None:
        phone = _key(event.phone)
        source = OptOutSource.USER_PREFERENCES
        if phone is None or event.category != _MARKETING or event.value not in _PREFERENCES:
            count(self.skipped, _label("user_preferences", f"{event.category}:{event.value}"))
        elif event.value == "stop":
            self.opt_outs.append(OptOut(phone, source, event.timestamp))
        else:
            self.opt_ins.append(OptIn(phone, source, event.timestamp))


def _label(kind: str, value: object) -> str:
    """A `skipped` key: the kind and the (bounded) value that made the event unusable."""
    return f"{kind}:{str(value)[:40]}"


def _key(phone: str | None) -> str | None:
    """The WhatsApp key of a number from a webhook, or None when it is no usable number."""
    if not phone:
        return None
    try:
        return whatsapp_key(phone)
    except ValueError:
        pass
    try:  # a national number (`0812...`), as a device webhook may give it
        return whatsapp_key(normalize_phone(phone))
    except ValueError:
        return None


def _check_text(event: WebhookEvent) -> None:
    # JSON may escape half a UTF-16 surrogate pair; such a string cannot be stored or logged.
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"webhook field {field.name!r} is not valid Unicode") from None
