"""Answer shapes: Replai's envelopes, Laravel's validation and error pages, Meta's errors."""

import json
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from broadcaster.sandbox.scripts import MetaError

__all__ = [
    "REASONS",
    "error_page",
    "json_response",
    "meta_error_body",
    "not_found",
    "proxied",
    "usual",
    "validation_error",
    "wants_json",
]

#: Laravel's titles of the error pages the sandbox can produce.
REASONS = {
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    419: "Page Expired",
    429: "Too Many Requests",
    500: "Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title></head>
<body class="antialiased">
<div class="flex items-center"><div class="code">{status}</div>
<div class="message">{title}</div></div>
</body>
</html>
"""


def wants_json(request: Request) -> bool:
    """Whether the caller asked for JSON, as Laravel's `expectsJson()` decides."""
    return "json" in request.headers.get("accept", "")


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A compact JSON answer."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status, headers, media_type="application/json")


def error_page(
    request: Request,
    status: int,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Laravel's error answer: `{"message": ...}` for JSON callers, else an HTML page."""
    title = REASONS.get(status, "Error")
    if wants_json(request):
        return json_response({"message": message or title}, status, headers)
    return HTMLResponse(_PAGE.format(title=title, status=status), status, headers)


def validation_error(errors: Mapping[str, list[str]]) -> Response:
    """HTTP 422 with Laravel's validation envelope (first message, then `errors`)."""
    messages = [m for field_messages in errors.values() for m in field_messages]
    message = messages[0]
    if len(messages) > 1:
        more = len(messages) - 1
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    return json_response({"message": message, "errors": dict(errors)}, 422)


def meta_error_body(error: MetaError, fbtrace_id: str) -> dict[str, Any]:
    """Meta's error object as it sits in `data.error`."""
    return {
        "error": {
            "message": error.message,
            "type": "OAuthException",
            "code": error.code,
            "error_subcode": None,
            "fbtrace_id": fbtrace_id,
        }
    }


def usual(status: bool, message: str, data: Any = None, code: int = 200) -> Response:
    """Replai's usual envelope: `{"status", "message", "data"}`."""
    return json_response({"status": status, "message": message, "data": data}, code)


def proxied(success: bool, message: str, data: Any = None, code: int = 200) -> Response:
    """The device proxy envelope: `{"success", "message", "data"}` (may fail with HTTP 200)."""
    return json_response({"success": success, "message": message, "data": data}, code)


def not_found(request: Request, message: str) -> Response:
    """A 404: the usual envelope for JSON callers, Laravel's HTML page otherwise."""
    if wants_json(request):
        return usual(False, message, None, 404)
    return error_page(request, 404)
