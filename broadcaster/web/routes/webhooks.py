"""POST /webhooks/replai/{secret}: delivery statuses and replies from Replai.

Replai posts once, unsigned, without retrying, so the receiving URL carries a secret and the
body is applied at once (one Lua script, one Redis round trip) before answering. A wrong
secret answers 404 as if the route did not exist. With `BROADCASTER_WEBHOOK_HMAC_SECRET` or
`BROADCASTER_META_APP_SECRET` set, the body must carry a valid signature for one of them
(`X-Signature-256` or Meta's `X-Hub-Signature-256`, `sha256=<hex>`), or it answers 401.
Neither changes anything.

Callbacks are most of the app's traffic (a few per message sent), so `WebhookReceiver`, the
outermost middleware, serves them straight from the server: FastAPI's routing, dependencies,
the other middlewares and the threadpool cost more CPU than the callback itself. Every other
request passes through untouched. The FastAPI route stays for the OpenAPI schema and answers
the same way, through the same `receive_webhook`, when the receiver is not installed.
"""

import hmac
import json
import logging
from typing import Any

import redis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from broadcaster.callbacks import outcome, read_webhook
from broadcaster.settings import Settings
from broadcaster.signatures import META_SIGNATURE_HEADER, SIGNATURE_HEADER, sign, verify_signature
from broadcaster.webhook_changes import WebhookChanges

from ..deps import WebResources
from ..schemas import ErrorOut, WebhookAck

__all__ = ["SIGNATURE_HEADER", "WebhookReceiver", "receive_webhook", "router", "sign"]

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

#: Largest webhook body accepted, in bytes (Replai's are a few hundred).
DEFAULT_MAX_WEBHOOK_BYTES = 1024 * 1024

_PATH = "/webhooks/replai/"
_SIGNATURE = SIGNATURE_HEADER.lower().encode()
_META_SIGNATURE = META_SIGNATURE_HEADER.lower().encode()
_NOT_FOUND = (404, {"detail": "Not Found"})
_STORE_DOWN = (
    "the campaign store (Redis) cannot be reached: check BROADCASTER_REDIS_URL and that "
    "Redis is running, then try again"
)


@router.post(
    "/replai/{secret}",
    response_model=WebhookAck,
    responses={code: {"model": ErrorOut} for code in (401, 404, 413, 422, 503)},
    summary="Receive Replai webhooks",
)
async def replai_webhook(secret: str, request: Request) -> JSONResponse:
    """Apply a Replai webhook: delivery statuses (Meta's `entry[].changes[].value.statuses[]`
    or flat `{message_id, status, phone}`) and incoming messages (`{from, message, ...}`).

    Statuses move recipients to sent, failed, delivered or read, keeping the furthest a
    message got whatever the order they arrive in; one for a message the worker has not
    recorded yet is held until it does (`held`). Replies are kept per recipient with their
    time. An opt-out keyword (STOP, BERHENTI, UNSUBSCRIBE...), a tap on an opt-out button
    ("Stop promotions", "Berhenti promosi"...), Meta's `user_preferences` stop or a send
    failed with 131050 puts the number on the suppression list with its source and time; a
    `user_preferences` resume lifts what Meta's setting put there. A body seen before is
    acknowledged and ignored.

    The path ends with `BROADCASTER_WEBHOOK_SECRET`; a wrong secret answers 404, and while
    no secret is configured this route answers 404 to everything.
    """
    resources: WebResources = request.app.state.resources
    status, payload = await receive_webhook(resources, secret, request.scope, request.receive)
    return JSONResponse(payload, status_code=status)


class WebhookReceiver:
    """ASGI middleware: answers `POST /webhooks/replai/{secret}` itself (see the module).

    Args:
        app: the app every other request goes to.
        resources: the app's settings and Redis.
    """

    def __init__(self, app: ASGIApp, *, resources: WebResources) -> None:
        self.app = app
        self.resources = resources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secret = _secret_in(scope)
        if secret is None:
            await self.app(scope, receive, send)
            return
        try:
            status, payload = await receive_webhook(self.resources, secret, scope, receive)
        except ClientDisconnect:
            return
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def receive_webhook(
    resources: WebResources, secret: str, scope: Scope, receive: Receive
) -> tuple[int, dict[str, Any]]:
    """Check and apply one webhook request; returns the status and JSON body to answer.

    The secret is checked before the body is read, the size while it is read, the signature
    before it is parsed. Raises ClientDisconnect when the client goes away mid-body.
    """
    settings = resources.settings
    expected = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        return _NOT_FOUND
    limit = min(DEFAULT_MAX_WEBHOOK_BYTES, settings.max_upload_bytes)
    declared, signatures = _headers(scope)
    body = None if declared > limit else await _read(receive, limit)
    if body is None:
        return 413, {"detail": f"webhook body larger than {limit} bytes", "limit": limit}
    wanted = _unsigned(settings, body, signatures)
    if wanted:
        logger.warning("webhook refused: missing or wrong %s", wanted)
        return 401, {"detail": f"missing or wrong {wanted} signature"}
    try:
        changes = read_webhook(
            body,
            opt_out_keywords=settings.opt_out_keywords,
            opt_out_buttons=settings.opt_out_buttons,
        )
    except ValueError as exc:
        return 422, {"detail": f"not a Replai webhook: {exc}"}
    store = resources.store
    keys, args = store.webhook_call(changes, resources.webhook_rules)
    try:
        raw = await resources.run_webhook_script(keys, args)
    except redis.RedisError as exc:
        logger.warning("webhook not applied, Redis error: %s", exc)  # no path: it has the secret
        return 503, {"detail": _STORE_DOWN}
    result = store.webhook_result(raw)
    _count(resources, changes, result.duplicate)
    return 200, outcome(changes, result).to_json()


def _count(resources: WebResources, changes: WebhookChanges, duplicate: bool) -> None:
    """Callbacks by kind, for /metrics."""
    record = resources.metrics
    if duplicate:
        record.inc("callbacks_total", {"kind": "duplicate"})
        return
    for kind, items in (("status", changes.statuses), ("reply", changes.replies),
                        ("opt_out", changes.opt_outs)):  # fmt: skip
        if items:
            record.inc("callbacks_total", {"kind": kind}, len(items))


def _secret_in(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    if not path.startswith(_PATH):
        return None
    secret = path[len(_PATH) :]
    return secret if secret and "/" not in secret else None


def _headers(scope: Scope) -> tuple[int, tuple[bytes | None, bytes | None]]:
    """(declared Content-Length or 0, (X-Signature-256, X-Hub-Signature-256) or None each)."""
    declared, ours, meta = 0, None, None
    for name, value in scope["headers"]:
        name = name.lower()
        if name == b"content-length" and value.isdigit():
            declared = int(value)
        elif name == _SIGNATURE:
            ours = value
        elif name == _META_SIGNATURE:
            meta = value
    return declared, (ours, meta)


def _unsigned(settings: Settings, body: bytes, signatures: tuple[bytes | None, ...]) -> str:
    """The signature headers the body lacks, or "" when it may be applied.

    With no signing secret configured every body may; with one or both, a valid signature
    for either of them is enough.
    """
    secrets = (settings.webhook_hmac_secret, settings.meta_app_secret)
    headers = (SIGNATURE_HEADER, META_SIGNATURE_HEADER)
    missing = []
    for secret, header, signature in zip(secrets, headers, signatures, strict=True):
        if secret is not None:
            if verify_signature(secret.get_secret_value(), body, signature):
                return ""
            missing.append(header)
    return " or ".join(missing)


async def _read(receive: Receive, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes."""
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)
