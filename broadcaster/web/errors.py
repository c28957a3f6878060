"""Error responses: one handler per error family, every body `{"detail": "<what to fix>"}`.

```
ApiError (web)              status chosen where raised (401, 404, 413, 422, 503 ...)
RequestValidationError      422, detail names each bad field, `errors` keeps FastAPI's list
ContactImportError          422, `line` when known, `columns` and `sheets` to choose from
CampaignError               404 not found, 422 invalid, 409 wrong state
ConfigurationError          503, the message names the setting
BrokerUnavailable           503, the task broker cannot be reached
StoreFull                   507, Redis has no room for the campaign
ReplaiError                 502, Replai's reason
redis.RedisError            503, Redis cannot be reached
Exception                   500 "internal error", traceback in the log only
```
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import redis
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from broadcaster.errors import (
    BrokerUnavailable,
    CampaignError,
    CampaignInvalid,
    CampaignNotFound,
    CampaignStateError,
    ConfigurationError,
    ConfirmationRequired,
    ContactImportError,
    NoPhoneColumn,
    ReplaiError,
    StoreFull,
)
from broadcaster.redact import redact_path

__all__ = ["ApiError", "install_error_handlers"]

logger = logging.getLogger(__name__)

#: Most field errors named in a validation error's `detail` (all of them are in `errors`).
_MAX_NAMED_ERRORS = 5


class ApiError(Exception):
    """An error the web edge answers as it is: status, message and optional extra fields.

    Args:
        status_code: the HTTP status.
        detail: what went wrong and what to do about it.
        headers: extra response headers (WWW-Authenticate ...).
        extra: more JSON fields next to `detail` (e.g. `errors` with line numbers).
    """

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


def error_response(
    status_code: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """The JSON error body every handler answers."""
    body = {"detail": detail} | jsonable_encoder(extra)
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ContactImportError, _import_error)
    app.add_exception_handler(CampaignError, _campaign_error)
    app.add_exception_handler(ConfigurationError, _configuration_error)
    app.add_exception_handler(BrokerUnavailable, _broker_error)
    app.add_exception_handler(StoreFull, _store_full)
    app.add_exception_handler(ReplaiError, _replai_error)
    app.add_exception_handler(redis.RedisError, _redis_error)
    app.add_exception_handler(Exception, _internal_error)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.detail, headers=exc.headers, **exc.extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    return error_response(422, describe_errors(errors), errors=_without_input(errors))


def describe_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """`invalid request: body.sender: Field required; query.limit: ...` from pydantic errors."""
    parts = []
    for error in errors[:_MAX_NAMED_ERRORS]:
        where = ".".join(str(part) for part in error.get("loc", ()))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error["msg"])
    more = len(errors) - _MAX_NAMED_ERRORS
    tail = f"; and {more} more" if more > 0 else ""
    return "invalid request: " + "; ".join(parts) + tail


def _without_input(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    # the input may be a whole uploaded body: the location and message are what helps
    return [{k: v for k, v in e.items() if k not in ("input", "url")} for e in errors]


async def _import_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ContactImportError)
    detail = f"cannot import the contacts: {exc}"
    extra: dict[str, Any] = {}
    if isinstance(exc, NoPhoneColumn):
        detail += " in the phone_column field"
        if len(exc.sheets) > 1:
            detail += ", or read another sheet with the sheet field"
        extra["columns"] = exc.columns
        if exc.sheet is not None:
            extra["sheet"] = exc.sheet
    if exc.sheets:
        extra["sheets"] = exc.sheets
    if exc.summary is not None:
        detail = f"{exc}; fix the rows listed in 'errors' and upload again"
        extra["errors"] = exc.summary.get("errors", [])
        extra["summary"] = exc.summary
    if exc.line is not None:
        extra["line"] = exc.line
    return error_response(422, detail, **extra)


async def _campaign_error(request: Request, exc: Exception) -> JSONResponse:
    status, detail = 400, str(exc)
    if isinstance(exc, CampaignNotFound):
        status = 404
    elif isinstance(exc, ConfirmationRequired):
        status, detail = 422, f'{exc}: send {{"confirm": true}}'
    elif isinstance(exc, CampaignInvalid):
        status = 422
    elif isinstance(exc, CampaignStateError):
        status = 409
    return error_response(status, detail)


async def _configuration_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(503, f"server not configured: {exc}")


async def _broker_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("broker error on %s %s: %s", request.method, _path(request), exc)
    return error_response(503, f"{exc}, then try again")


async def _store_full(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("refused on %s %s: %s", request.method, _path(request), exc)
    return error_response(507, str(exc))


async def _replai_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReplaiError)
    return error_response(502, f"Replai answered with an error: {exc.reason}")


async def _redis_error(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("Redis error on %s %s: %s", request.method, _path(request), exc)
    return error_response(
        503,
        "the campaign store (Redis) cannot be reached: check BROADCASTER_REDIS_URL and that "
        "Redis is running, then try again",
    )


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error on %s %s", request.method, _path(request), exc_info=exc)
    return error_response(500, "internal error")


def _path(request: Request) -> str:
    return redact_path(request.url.path)  # a webhook's path carries its secret
