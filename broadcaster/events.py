"""Outbound event webhooks: what a subscriber receives, signed per Standard Webhooks.

A campaign's subscriptions (the deployment's `event_webhooks`, those made through the API,
`store/subscriptions.py`, and the launch's own `events_url`) are fixed when it is launched. The
Lua scripts that change a recipient or a campaign append an event to each subscription's stream
in the same atomic step (prelude.lua, `emit`), so no change is recorded without its event. The
workers POST them per subscription in the order they happened, a few back to back on one
connection but never two of one recipient (`workers/events.py`), each signed with the
subscription's secret by the `standardwebhooks` library (https://www.standardwebhooks.com/):
headers `webhook-id` (the event id: the same on
every retry, for the receiver's dedupe), `webhook-timestamp` and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of id.timestamp.body>`).

Usage (a receiver):
    from standardwebhooks.webhooks import Webhook
    event = Webhook("whsec_...").verify(body, headers)  # raises when the signature is wrong
"""

import base64
import binascii
import dataclasses
import datetime
import functools
import hashlib
import json
import random
import secrets
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr
from standardwebhooks.webhooks import Webhook

__all__ = [
    "CAMPAIGN_EVENTS",
    "RECIPIENT_EVENTS",
    "EventRules",
    "EventWebhook",
    "Subscription",
    "backoff",
    "check_secret",
    "new_secret",
    "signed_request",
]

#: Events about one recipient (`data.recipient` is its index in the contact list).
RECIPIENT_EVENTS = (
    "recipient.sent", "recipient.delivered", "recipient.read", "recipient.failed",
    "recipient.replied", "recipient.opted_out", "recipient.unknown", "recipient.expired",
)  # fmt: skip
#: Events about a whole campaign.
CAMPAIGN_EVENTS = (
    "campaign.started", "campaign.paused", "campaign.resumed", "campaign.completed",
    "campaign.cancelled", "campaign.expired",
)  # fmt: skip
#: Longest wait between two attempts, seconds.
MAX_BACKOFF = 3600.0
_RNG = random.Random()
#: Random bytes in a secret made by `new_secret`.
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret in the spec's form: `whsec_` and base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_secret(secret: str) -> str:
    """`secret` if it has the spec's form (`whsec_` and base64 of 24 to 64 bytes).

    Raises:
        ValueError: it has not (the message says what is wrong, never the secret).
    """
    if not secret.startswith("whsec_"):
        raise ValueError("a signing secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len("whsec_") :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a signing secret is whsec_ and base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError(f"a signing secret holds 24 to 64 bytes, this one {len(key)}")
    return secret


class EventWebhook(BaseModel):
    """A subscription as configured: where to POST and the secret to sign with."""

    model_config = ConfigDict(frozen=True)

    url: str
    secret: SecretStr


@dataclasses.dataclass(frozen=True, slots=True)
class Subscription:
    """A receiver of events. Its id comes from its URL and secret, so campaigns naming the
    same receiver share one queue (and one order)."""

    url: str
    secret: str = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"an events URL must be http(s)://, got {self.url!r}")
        Webhook(self.secret)  # raises on an empty or undecodable secret

    @property
    def id(self) -> str:
        """16 hex characters naming the subscription."""
        seed = f"{self.url}\0{self.secret}".encode()
        return hashlib.blake2b(seed, digest_size=8).hexdigest()

    @classmethod
    def from_config(cls, hook: EventWebhook) -> "Subscription":
        """From a configured `EventWebhook`."""
        return cls(hook.url, hook.secret.get_secret_value())


@dataclasses.dataclass(frozen=True, slots=True)
class EventRules:
    """How events are kept and retried (from `Settings`, see `from_settings`)."""

    backlog: int = 100_000
    dead_max: int = 10_000
    max_age: float = 86_400.0
    backoff_base: float = 5.0
    timeout: float = 5.0
    pipeline: int = 8

    @classmethod
    def from_settings(cls, settings: Any) -> "EventRules":
        """Read them from a `Settings`."""
        return cls(
            backlog=settings.events_backlog,
            dead_max=settings.events_dead_max,
            max_age=settings.events_max_age,
            backoff_base=settings.events_backoff_base,
            timeout=settings.events_timeout,
            pipeline=settings.events_pipeline,
        )


def backoff(attempts: int, base: float, rng: random.Random | None = None) -> float:
    """Seconds before the next attempt after `attempts` failed ones: base, 2 x base, ...
    up to an hour, each with up to 20 % jitter either way."""
    delay = min(base * 2.0 ** max(attempts - 1, 0), MAX_BACKOFF)
    jitter = (rng or _RNG).random()
    return delay * (0.8 + 0.4 * jitter)


def payload(fields: Mapping[str, str], phone: str | None) -> dict[str, Any]:
    """The JSON body of a stored event (its stream fields as prelude.lua's `emit` wrote them)."""
    data: dict[str, Any] = {"campaign_id": fields["c"]}
    if "r" in fields:
        data["recipient"] = int(fields["r"])
        if phone:
            data["phone"] = phone
    for name in ("error", "message_id", "text", "source", "reason"):
        if fields.get(name):
            data[name] = fields[name]
    for name in ("count", "from", "to"):  # campaign.expired: the recipients never released
        if fields.get(name):
            data[name] = int(fields[name])
    when = datetime.datetime.fromtimestamp(float(fields["t"]), datetime.UTC)
    stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {"type": fields["type"], "timestamp": stamp, "data": data}


def event_id(entry_id: str, fields: Mapping[str, str]) -> str:
    """The event's id (`webhook-id`): the one it was first stored under, kept on replay."""
    return "evt_" + (fields.get("id") or entry_id).replace("-", "_")


#: Compact JSON, non-ASCII kept (one encoder for every event: `json.dumps` with arguments builds
#: a new one per call).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


@functools.lru_cache(maxsize=64)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def signed_request(
    entry_id: str, fields: Mapping[str, str], phone: str | None, secret: str, now: float
) -> tuple[dict[str, str], bytes]:
    """The headers and body of one event's POST, signed with `secret`."""
    body = _JSON.encode(payload(fields, phone))
    msg_id = event_id(entry_id, fields)
    when = datetime.datetime.fromtimestamp(int(now), datetime.UTC)
    headers = {
        "content-type": "application/json",
        "user-agent": "broadcaster-events/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now)),
        "webhook-signature": _signer(secret).sign(msg_id, when, body),
    }
    return headers, body.encode()
