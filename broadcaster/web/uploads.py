"""Reading request bodies with a size limit: multipart uploads and JSON.

The limit is checked twice: against Content-Length before anything is read, and while the
body streams in, so a chunked upload without Content-Length is stopped as soon as it passes
the limit, not after it has filled the disk. Uploaded files are spooled to temporary files
by Starlette; the caller closes the form (`async with read_form(...) as form`).
"""

import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ApiError, error_response

__all__ = [
    "BodyLimit",
    "content_type",
    "form_fields",
    "limited",
    "read_form",
    "read_json",
    "require_file",
    "too_large",
    "validate",
]

Model = TypeVar("Model", bound=BaseModel)


def too_large(limit: int) -> ApiError:
    """The 413 answered for a body over `limit` bytes."""
    return ApiError(
        413,
        f"request body larger than {limit} bytes (BROADCASTER_MAX_UPLOAD_BYTES): "
        "split the contact file into smaller files",
        limit=limit,
    )


def limited(request: Request, limit: int) -> Request:
    """The same request, whose body stops with a 413 `ApiError` past `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise too_large(limit)
        return message

    return Request(request.scope, receive)


@contextlib.asynccontextmanager
async def read_form(request: Request, limit: int) -> AsyncIterator[FormData]:
    """Parse a multipart body (at most `limit` bytes); its files are closed on exit."""
    form = await limited(request, limit).form()
    try:
        yield form
    finally:
        await form.close()


async def read_json(request: Request, limit: int, model: type[Model]) -> Model:
    """Parse and validate a JSON body of at most `limit` bytes.

    Raises:
        RequestValidationError: bad JSON or fields, located under `body` as FastAPI does.
    """
    body = await limited(request, limit).body()
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise _located(exc) from None


def validate(model: type[Model], data: dict[str, Any]) -> Model:
    """Validate form fields like a body: errors become a 422 located under `body`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _located(exc) from None


def _located(exc: ValidationError) -> RequestValidationError:
    return RequestValidationError(
        [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
    )


def form_fields(form: FormData, *, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """The form's text fields as a dict; names in `lists` may repeat and become lists."""
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            if name in lists:
                fields.setdefault(name, []).append(value)
            else:
                fields[name] = value
    return fields


def require_file(form: FormData, name: str = "file") -> UploadFile:
    """The uploaded file in field `name`, or a 422 saying how to send it."""
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        raise ApiError(
            422,
            f"no file uploaded: send the contact file (CSV, .xlsx, .xls, .ods or .vcf) as the "
            f"multipart field {name!r}",
        )
    return upload


def content_type(request: Request) -> str:
    """The media type of the body, lower case, without parameters."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes gets 413 before any route reads it.

    Multipart uploads are left to the routes (`limited`, `read_form`), which stream them to
    disk; every other body (JSON, form fields) is read here, at most `limit` bytes, and handed
    on in one piece: FastAPI reads such bodies whole anyway.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_multipart(scope):
            await self.app(scope, receive, send)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away: let the app find out from receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                err = too_large(self.limit)
                response = error_response(err.status_code, err.detail, limit=self.limit)
                await response(scope, receive, send)
                return
        await self.app(scope, _replay(bytes(body), receive), send)


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bool(value.lower().startswith(b"multipart/"))
    return False


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body in one message, then the client's own messages (its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
