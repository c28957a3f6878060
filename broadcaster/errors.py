"""Every exception Broadcaster raises.

```
BroadcasterError
├── ConfigurationError        a setting is missing or wrong            -> say which
├── ContactImportError        the file cannot be read at all           -> HTTP 422
│   └── NoPhoneColumn         no phone column; names the columns found
├── CampaignError
│   ├── CampaignNotFound                                               -> HTTP 404
│   ├── CampaignInvalid       bad fields, unknown template, bad params  -> HTTP 422
│   │   └── ConfirmationRequired  an action that may message people twice -> HTTP 422
│   └── CampaignStateError    e.g. resume a cancelled campaign          -> HTTP 409
├── BrokerUnavailable         the task broker cannot be reached        -> HTTP 503
├── StoreFull                 Redis has no room for this campaign      -> HTTP 507
├── RateLimitExceeded         retry_after                              -> retry later
└── ReplaiError               status_code, code (Meta), retry_after
    ├── ReplaiRetryable       retry soon, with backoff and jitter
    │   ├── ReplaiUnavailable     network error, 5xx, Meta 1/2/4/80007/131000/131016
    │   │   └── ReplaiTimeout     the request went out, no answer came: it MAY have been sent
    │   ├── ReplaiThrottled       429, 130429: slow the whole sender down
    │   └── ReplaiPairRateLimited 131056: this recipient, wait >= 6 s
    ├── ReplaiDeferred        retry much later: 131048, 131049, daily limit reached
    ├── ReplaiRejected        permanent for this recipient: 131026, 132000, 422 ...
    └── ReplaiSenderBlocked   stop the campaign and tell the operator
        ├── ReplaiAuthError       401, 403, Meta 190/10/200
        ├── DeviceDisconnected    419: scan the QR code again
        └── AccountRestricted     131042 (payment), 131031, 368
```

The tree departs from a plain 4xx/5xx split on purpose: what a sender should do next
(retry, wait hours, give up on one number, stop everything) is what callers branch on.
"""

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "AccountRestricted",
    "BroadcasterError",
    "BrokerUnavailable",
    "CampaignError",
    "CampaignInvalid",
    "CampaignNotFound",
    "CampaignStateError",
    "ConfigurationError",
    "ConfirmationRequired",
    "ContactImportError",
    "DeviceDisconnected",
    "NoPhoneColumn",
    "RateLimitExceeded",
    "ReplaiAuthError",
    "ReplaiDeferred",
    "ReplaiError",
    "ReplaiPairRateLimited",
    "ReplaiRejected",
    "ReplaiRetryable",
    "ReplaiSenderBlocked",
    "ReplaiThrottled",
    "ReplaiTimeout",
    "ReplaiUnavailable",
    "StoreFull",
]


class BroadcasterError(Exception):
    """Base class of every error raised on purpose by Broadcaster."""


class ConfigurationError(BroadcasterError):
    """A setting is missing or inconsistent; the message names it."""


class ContactImportError(BroadcasterError):
    """A contact file cannot be imported at all (row-level problems are reported, not raised)."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        summary: Mapping[str, Any] | None = None,
        sheets: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.line = line
        #: The import summary (row errors with line numbers) when rows were read.
        self.summary = summary
        #: The worksheets of a workbook, when the problem is with one of them (choose another).
        self.sheets = list(sheets)


class NoPhoneColumn(ContactImportError):
    """No column looks like a phone number column.

    The message asks to name the column; each edge says how (`--phone-column` on the command
    line, the `phone_column` field in the API), and, for a workbook of several sheets, how to
    read another sheet (`sheets`).
    """

    def __init__(
        self, columns: list[str], *, sheet: str | None = None, sheets: Sequence[str] = ()
    ) -> None:
        found = ", ".join(repr(c) for c in columns) or "none"
        where = f" in the sheet {sheet!r}" if sheet is not None and len(sheets) > 1 else ""
        super().__init__(
            f"no phone column found{where} (columns: {found}); name one 'phone', or say which "
            "column holds the numbers",
            sheets=sheets,
        )
        self.columns = columns
        self.sheet = sheet  #: the worksheet read, for a workbook


class CampaignError(BroadcasterError):
    """Base class of campaign errors."""


class CampaignNotFound(CampaignError):
    """No campaign has this id."""

    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"campaign {campaign_id!r} not found")
        self.campaign_id = campaign_id


class CampaignInvalid(CampaignError):
    """The campaign's fields are inconsistent (unknown template, missing column...)."""


class ConfirmationRequired(CampaignInvalid):
    """The action may message people twice (resending `unknown` recipients): confirm it."""


class CampaignStateError(CampaignError):
    """The operation is not allowed in the campaign's current state."""


class BrokerUnavailable(BroadcasterError):
    """The task broker (Redis or RabbitMQ) cannot be reached: nothing was queued."""


class StoreFull(BroadcasterError):
    """Redis (the campaign store) has no room for what was asked: nothing was stored.

    The message says how much room there is and what to do (delete finished campaigns, raise
    Redis's `maxmemory`, or send a smaller list).
    """


class RateLimitExceeded(BroadcasterError):
    """No send token is available for this sender now; try again after `retry_after` s."""

    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(f"rate limit reached for {key}; retry in {retry_after:.2f}s")
        self.key = key
        self.retry_after = retry_after


class ReplaiError(BroadcasterError):
    """Replai answered with an error, or could not be reached.

    Args:
        message: what went wrong, from Replai's answer when it said.
        status_code: the HTTP status, None when no answer arrived.
        code: Meta's error code when the answer carried one.
        retry_after: seconds to wait before trying again, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.retry_after = retry_after

    @property
    def reason(self) -> str:
        """A short reason for reports: `131026: Message undeliverable` or `HTTP 503: ...`.

        Meta's own `(#131026) ` in front of its message is dropped: the code leads already,
        and a delivery callback with the same failure reads the same.
        """
        head = str(self.code) if self.code is not None else f"HTTP {self.status_code or '-'}"
        message = self.message
        if self.code is not None:
            message = message.removeprefix(f"(#{self.code})").strip() or message
        return f"{head}: {message}"[:200]


class ReplaiRetryable(ReplaiError):
    """A temporary failure: try again soon."""


class ReplaiUnavailable(ReplaiRetryable):
    """Network error, timeout, 5xx or one of Meta's transient codes."""


class ReplaiTimeout(ReplaiUnavailable):
    """The request was sent but no answer came in time (read timeout, connection dropped).

    Replai may have accepted it: a broadcaster must not resend it silently.
    """


class ReplaiThrottled(ReplaiRetryable):
    """Too many requests for this sender (429 or 130429)."""


class ReplaiPairRateLimited(ReplaiRetryable):
    """Too many messages to the same recipient (131056): wait at least 6 s."""


class ReplaiDeferred(ReplaiError):
    """Sending is held back for hours (spam limit, ecosystem health, daily limit)."""


class ReplaiRejected(ReplaiError):
    """Permanent for this recipient or request: do not retry."""


class ReplaiSenderBlocked(ReplaiError):
    """The sender cannot send at all: the campaign must stop until an operator acts."""


class ReplaiAuthError(ReplaiSenderBlocked):
    """The token, api_key or device_key is wrong or lacks permission."""


class DeviceDisconnected(ReplaiSenderBlocked):
    """The WhatsApp device is not connected (HTTP 419): scan the QR code again."""


class AccountRestricted(ReplaiSenderBlocked):
    """The business account is restricted or has a payment problem."""
