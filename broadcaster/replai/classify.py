"""The one place where httpx exceptions and Replai error answers become `ReplaiError`s.

What the sender should do next decides the class (see `broadcaster.errors`):

- Meta's error code wins when the answer carries one, read from `data.error.code`,
  `error.code` or a `(#131056) ...` message;
- then the HTTP status: 401/403 auth, 419 device disconnected, 429 throttled;
- then the message text: "daily limit reached", "not connected", "invalid api key";
- then the status again: 5xx and 408 are transient, any other answer is a permanent
  rejection (HTTP 200 with `success: false` and no code too: the request may have been
  processed, and a blind retry could send twice).
"""

import contextlib
import email.utils
import json
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from broadcaster.errors import (
    AccountRestricted,
    DeviceDisconnected,
    ReplaiAuthError,
    ReplaiDeferred,
    ReplaiError,
    ReplaiPairRateLimited,
    ReplaiRejected,
    ReplaiThrottled,
    ReplaiTimeout,
    ReplaiUnavailable,
)

__all__ = [
    "META_CODES",
    "error_from_body",
    "error_from_response",
    "meta_code",
    "parse_body",
    "parse_retry_after",
]

#: Seconds to wait before writing to a recipient again after Meta's 131056 (pair rate).
DEFAULT_PAIR_RETRY_AFTER = 6.0
#: Longest message kept from an answer.
MAX_MESSAGE_LENGTH = 300

_TRANSIENT = (1, 2, 4, 80007, 131000, 131016)
_DEFERRED = (131048, 131049)
_PERMANENT = (
    100, 130472, 131008, 131009, 131021, 131026, 131047, 131050, 131051, 131052, 131053,
    132000, 132001, 132005, 132007, 132012, 132015, 132016,
)  # fmt: skip
_AUTH = (10, 190, 200)
_RESTRICTED = (131031, 131042, 368)

#: Meta error code -> the error class a sender acts on.
META_CODES: Mapping[int, type[ReplaiError]] = {
    **dict.fromkeys(_TRANSIENT, ReplaiUnavailable),
    130429: ReplaiThrottled,
    131056: ReplaiPairRateLimited,
    **dict.fromkeys(_DEFERRED, ReplaiDeferred),
    **dict.fromkeys(_PERMANENT, ReplaiRejected),
    **dict.fromkeys(_AUTH, ReplaiAuthError),
    **dict.fromkeys(_RESTRICTED, AccountRestricted),
}

_STATUS_CLASSES: Mapping[int, type[ReplaiError]] = {
    401: ReplaiAuthError,
    403: ReplaiAuthError,
    419: DeviceDisconnected,
    429: ReplaiThrottled,
}

_CODE_IN_TEXT = re.compile(r"\(#(\d+)\)")
# Said by Replai (English or Indonesian) when an answer carries no code.
_MESSAGE_CLASSES: tuple[tuple[re.Pattern[str], type[ReplaiError]], ...] = (
    (
        re.compile(
            r"daily\s+(sending\s+)?limit|(sending|device|message)\s+limit\s+(reached|exceeded)"
            r"|limit\s+harian|batas\s+(harian|pengiriman)|quota\s+(exceeded|habis)",
            re.IGNORECASE,
        ),
        ReplaiDeferred,
    ),
    (
        re.compile(
            r"not\s+connected|disconnected|scan\s+(the\s+)?qr|tidak\s+terhubung",
            re.IGNORECASE,
        ),
        DeviceDisconnected,
    ),
    (
        re.compile(
            r"unauthenticated|unauthori[sz]ed|invalid\s+(api[\s_-]?key|device[\s_-]?key|token)",
            re.IGNORECASE,
        ),
        ReplaiAuthError,
    ),
)


# Raised after the request may have reached Replai: the send may have happened.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)


@contextlib.contextmanager
def _map_httpx_errors() -> Iterator[None]:
    """Turn any httpx exception raised inside the block into a `ReplaiError`.

    Raises:
        ReplaiTimeout: the request went out (or may have) and no usable answer came:
            read or write timeout, connection dropped, garbled answer.
        ReplaiUnavailable: the request never left: connect errors and timeouts, a full
            connection pool, a proxy error.
        ReplaiRejected: a request httpx refuses to build (bad URL): retrying won't help.
    """
    try:
        yield
    except _MAYBE_SENT as exc:
        timed_out = isinstance(exc, httpx.TimeoutException)
        what = "timed out before answering" if timed_out else "gave no usable answer"
        message = f"Replai {what} ({type(exc).__name__}); the request may have been processed"
        raise ReplaiTimeout(message) from exc
    except httpx.TimeoutException as exc:
        raise ReplaiUnavailable(f"timed out reaching Replai ({type(exc).__name__})") from exc
    except httpx.InvalidURL as exc:
        raise ReplaiRejected(f"invalid request URL: {exc}") from exc
    except httpx.HTTPError as exc:
        raise ReplaiUnavailable(f"Replai unreachable ({type(exc).__name__}: {exc})") from exc
    except httpx.StreamError as exc:
        raise ReplaiUnavailable(f"Replai answer unreadable ({type(exc).__name__})") from exc


def parse_body(response: httpx.Response) -> Any:
    """Decode the answer's JSON once; None when the body is empty or not JSON (HTML)."""
    content = response.content
    if not content or content[:1] == b"<":
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait: `Retry-After` (seconds or HTTP date) or `X-RateLimit-Reset`.

    Args:
        headers: the answer's headers (case-insensitive, as httpx gives them).
        now: the current unix time, for tests; defaults to `time.time()`.
    """
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        return max(0.0, when - (time.time() if now is None else now))
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - (time.time() if now is None else now))
        except ValueError:
            return None
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _meta_error(body: Any) -> Mapping[str, Any] | None:
    """Meta's `{"error": {...}}` object, directly or under `data`."""
    if not isinstance(body, Mapping):
        return None
    for holder in (body.get("data"), body):
        if isinstance(holder, Mapping):
            error = holder.get("error")
            if isinstance(error, Mapping):
                return error
    return None


def meta_code(body: Any, message: str | None = None) -> int | None:
    """Meta's error code: `data.error.code`, `error.code` or `(#131056) ...` text."""
    error = _meta_error(body)
    if error is not None:
        code = _as_int(error.get("code"))
        if code is not None:
            return code
    for text in (message, error and error.get("message")):
        if isinstance(text, str):
            match = _CODE_IN_TEXT.search(text)
            if match:
                return int(match.group(1))
    return None


def _message(body: Any, response: httpx.Response | None) -> str:
    """The most useful human text in an error answer."""
    if isinstance(body, Mapping):
        error = _meta_error(body)
        if error is not None and isinstance(error.get("message"), str):
            return str(error["message"])[:MAX_MESSAGE_LENGTH]
        for key in ("message", "error", "msg"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return _with_field_errors(value, body)[:MAX_MESSAGE_LENGTH]
    if response is None:
        return "Replai answered with an error"
    kind = "non-JSON" if body is None else "unexpected"
    return f"HTTP {response.status_code} {response.reason_phrase} ({kind} body)".strip()


def _with_field_errors(message: str, body: Mapping[str, Any]) -> str:
    """Add Laravel's first field error when the message does not already say it."""
    errors = body.get("errors")
    if isinstance(errors, Mapping) and errors:
        field, problems = next(iter(errors.items()))
        first = problems[0] if isinstance(problems, list) and problems else problems
        if isinstance(first, str) and first not in message:
            return f"{message} ({field}: {first})"
    return message


def _classify(status: int, code: int | None, message: str) -> type[ReplaiError]:
    if code is not None and code in META_CODES:
        return META_CODES[code]
    by_status = _STATUS_CLASSES.get(status)
    if by_status is not None:
        return by_status
    for pattern, error_class in _MESSAGE_CLASSES:
        if pattern.search(message):
            return error_class
    if status >= 500 or status == 408:
        return ReplaiUnavailable
    return ReplaiRejected


def error_from_body(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    response: httpx.Response | None = None,
) -> ReplaiError:
    """Classify an error answer already decoded: see the module docstring for the order.

    Args:
        status: the HTTP status code.
        body: the decoded JSON body, or None when it was not JSON.
        headers: the answer's headers, for `Retry-After`.
        response: the answer itself, only to describe a non-JSON body.
    """
    message = _message(body, response)
    code = meta_code(body, message)
    error_class = _classify(status, code, message)
    retry_after = parse_retry_after(headers) if headers is not None else None
    if error_class is ReplaiPairRateLimited:
        retry_after = max(retry_after or 0.0, DEFAULT_PAIR_RETRY_AFTER)
    return error_class(message, status_code=status, code=code, retry_after=retry_after)


def error_from_response(response: httpx.Response, body: Any = ...) -> ReplaiError:
    """Turn a failed answer (non-2xx, or 2xx with a false flag) into a `ReplaiError`.

    Args:
        response: the answer, with its body read.
        body: its decoded JSON, when the caller already parsed it (else parsed here).
    """
    if body is ...:
        body = parse_body(response)
    return error_from_body(response.status_code, body, response.headers, response=response)
