"""What one webhook body asks of the store, read and checked before any of it is applied.

`callbacks.read_webhook` builds a `WebhookChanges`; the store applies it in one Lua step.
Every record keeps the event's own time (`timestamp`, Unix seconds, None when the body gave
none) because Meta's callbacks arrive late and out of order, and every phone number is a
`phones.whatsapp_key`, so the number a campaign sent to and the `wa_id` Meta reports meet.

What the store does with each list:

- `statuses`: find the recipient by `message_id`; when that id is not recorded yet (the
  callback beat the worker's write), hold the status until it is; apply by `timestamp`,
  never letting an older status overwrite a newer one;
- `replies`: route to the campaign of `context_id` (the message answered) when there is one,
  else to the campaign that last messaged `phone`;
- `opt_outs`: suppress `phone` (from the message's recipient when `phone` is None) with its
  source and time; `opt_ins`: lift an opt-out whose source is in `optouts.LIFTED_BY_RESUME`
  when the resume is newer than it.
"""

from dataclasses import dataclass, field

from .campaigns import RecipientStatus
from .optouts import OptOutSource
from .replai import ErrorReport

__all__ = ["OptIn", "OptOut", "Reply", "StatusChange", "WebhookChanges"]


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A delivery status for one of our messages.

    Args:
        error: `"<code>: <title>"` for a failure (`"-"` for a missing code), else "".
        phone: the recipient's key (`recipient_id`), when the status named one.
    """

    message_id: str
    status: RecipientStatus
    timestamp: float | None = None
    error: str = ""
    error_code: int | None = None
    phone: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A message a person sent us.

    Args:
        phone: the sender's key.
        kind: Meta's message type (`text`, `button`, `interactive`, `reaction`, `image`...).
        context_id: the id of the message it answers, taps a button of, or reacts to.
        opt_out: whether it opted the sender out (see `opt_outs` for the record).
    """

    phone: str
    text: str
    timestamp: float | None = None
    context_id: str | None = None
    kind: str = "text"
    message_id: str | None = None
    opt_out: bool = False


@dataclass(frozen=True, slots=True)
class OptOut:
    """A person who asked to receive no more campaigns.

    Args:
        phone: their key; None when only `message_id` names them (a failed status without
            a usable `recipient_id`): the store takes the number of that message's recipient.
        message_id: the reply or failed send it came from; None for `user_preferences`.
    """

    phone: str | None
    source: OptOutSource
    timestamp: float | None = None
    message_id: str | None = None


@dataclass(frozen=True, slots=True)
class OptIn:
    """A person who resumed marketing messages (Meta `user_preferences`, `value: resume`)."""

    phone: str
    source: OptOutSource
    timestamp: float | None = None


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """What one webhook body asks of the store, in body order.

    Args:
        digest: the body's digest, for de-duplication.
        errors: Meta's value-level errors (system, app or account problems), to report.
        ignored: events that cannot apply (an unknown status word, no message id, a reply
            from an unusable number, another webhook field...), all counted.
        skipped: `ignored` by kind, for metrics and logs.
    """

    digest: str
    statuses: list[StatusChange] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    opt_outs: list[OptOut] = field(default_factory=list)
    opt_ins: list[OptIn] = field(default_factory=list)
    errors: list[ErrorReport] = field(default_factory=list)
    ignored: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
