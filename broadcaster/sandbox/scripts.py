"""Scripted outcomes: what a send does, chosen by the last four digits of the phone number.

The table is the one in `docs/replai-contract.md`. Outcomes that change after the first
attempts ("500 twice, then accepted") count attempts per phone number; the counters live in
`SandboxState` and are cleared by `/_sandbox/reset`.

0008 answers the first attempt only after `SLOW_ANSWER` seconds. The client has given up
by then, but the sandbox still records the send as accepted when the handler completes,
because that is what a real provider does: the message may well have gone out. A retry of
it is therefore visible as a duplicate in `/_sandbox/sends`, which is the point.
"""

import enum
from dataclasses import dataclass

__all__ = [
    "SLOW_ANSWER",
    "STATEFUL_SUFFIXES",
    "CallbackPlan",
    "Kind",
    "MetaError",
    "Script",
    "callback_plan",
    "script_for",
]

#: Seconds the first attempt to a number ending in 0008 takes to answer.
SLOW_ANSWER = 15.0
#: Suffixes whose outcome depends on the attempt number.
STATEFUL_SUFFIXES = frozenset({"0002", "0003", "0007", "0008"})
#: What the contact answers after reading, by suffix.
_REPLIES = {"0009": "STOP", "0014": "Halo, mau info lebih lanjut"}


class Kind(enum.Enum):
    """The kinds of scripted answers."""

    ACCEPT = "accept"
    META_ERROR = "meta_error"
    SERVER_ERROR = "server_error"
    DISCONNECT = "disconnect"
    UNAUTHENTICATED = "unauthenticated"
    THROTTLED = "throttled"
    SLOW = "slow"


@dataclass(frozen=True, slots=True)
class MetaError:
    """One of Meta's error codes, with the HTTP status it comes with."""

    code: int
    title: str
    status: int = 400

    @property
    def message(self) -> str:
        """The text Replai forwards, e.g. `(#131026) Message undeliverable`."""
        return f"(#{self.code}) {self.title}"


UNDELIVERABLE = MetaError(131026, "Message undeliverable")
PAIR_RATE = MetaError(131056, "(Business Account, Consumer Account) pair rate limit hit")
OUTSIDE_WINDOW = MetaError(131047, "Re-engagement message")
PAYMENT = MetaError(131042, "Business eligibility payment issue")
SPAM_RATE = MetaError(131048, "Spam rate limit hit")
PARAM_MISMATCH = MetaError(132000, "Number of parameters does not match the expected number")
TEMPLATE_MISSING = MetaError(132001, "Template name does not exist in the translation", 404)


@dataclass(frozen=True, slots=True)
class Script:
    """What the sandbox does with one send attempt."""

    kind: Kind
    error: MetaError | None = None


ACCEPT = Script(Kind.ACCEPT)
_PERMANENT = {
    "0001": Script(Kind.META_ERROR, UNDELIVERABLE),
    "0004": Script(Kind.DISCONNECT),
    "0005": Script(Kind.UNAUTHENTICATED),
    "0006": Script(Kind.META_ERROR, OUTSIDE_WINDOW),
    "0011": Script(Kind.META_ERROR, PAYMENT),
    "0012": Script(Kind.META_ERROR, SPAM_RATE),
}


def script_for(phone: str, attempt: int) -> Script:
    """The outcome of attempt number `attempt` (1-based) to `phone` (normalised digits)."""
    suffix = phone[-4:]
    script = _PERMANENT.get(suffix)
    if script is not None:
        return script
    if suffix == "0002" and attempt <= 2:
        return Script(Kind.SERVER_ERROR)
    if attempt == 1:
        if suffix == "0003":
            return Script(Kind.META_ERROR, PAIR_RATE)
        if suffix == "0007":
            return Script(Kind.THROTTLED)
        if suffix == "0008":
            return Script(Kind.SLOW)
    return ACCEPT


@dataclass(frozen=True, slots=True)
class CallbackPlan:
    """The status callbacks that follow an accepted send, and the contact's reply if any."""

    statuses: tuple[str, ...]
    error: MetaError | None = None
    reply: str | None = None


_FULL = ("sent", "delivered", "read")
_PLANS = {
    "0010": CallbackPlan(("sent", "failed"), UNDELIVERABLE),
    "0013": CallbackPlan(("sent", "delivered")),
}


def callback_plan(phone: str) -> CallbackPlan:
    """What happens to an accepted message after it is sent."""
    suffix = phone[-4:]
    plan = _PLANS.get(suffix)
    if plan is not None:
        return plan
    return CallbackPlan(_FULL, reply=_REPLIES.get(suffix))
