"""Reading Replai's answer envelopes.

Replai answers `{"status": bool, "message", "data"}` on most routes and
`{"success": bool, "message", "data"}` on the device proxy (may fail with HTTP 200).
A call succeeded only when the status is 2xx AND neither flag is false.
"""

from collections.abc import Mapping
from typing import Any

import httpx

from broadcaster.errors import ReplaiUnavailable

from .classify import error_from_body, parse_body

__all__ = ["data_of", "is_failure", "unwrap"]

_FAILURE_WORDS = frozenset({"error", "failed", "fail", "false"})


def is_failure(body: Any) -> bool:
    """True when a 2xx body says the call failed (`status` or `success` is false)."""
    if not isinstance(body, Mapping):
        return False
    if body.get("success", True) is False:
        return True
    status = body.get("status", True)
    return status is False or (isinstance(status, str) and status.lower() in _FAILURE_WORDS)


def unwrap(response: httpx.Response) -> Any:
    """Return the decoded body of a successful answer, or raise the classified error.

    Raises:
        ReplaiError: the subclass that says what to do (see `classify`).
        ReplaiUnavailable: a 2xx answer that is not JSON (a proxy page, wrong base URL).
    """
    status = response.status_code
    body = parse_body(response)
    if status < 200 or status >= 300 or is_failure(body):
        raise error_from_body(status, body, response.headers, response=response)
    if body is None and response.content:
        raise ReplaiUnavailable(
            f"Replai answered HTTP {status} with a non-JSON body", status_code=status
        )
    return body


def data_of(body: Any) -> Any:
    """The payload of an envelope: its `data`, or the body itself when not enveloped."""
    if isinstance(body, Mapping) and ("data" in body or "status" in body or "success" in body):
        return body.get("data")
    return body
