"""API keys: `X-API-Key: <key>` or `Authorization: Bearer <key>`, compared in constant time.

With no key configured every protected route answers 503: an API that forgot its keys fails
closed instead of opening to everyone.
"""

import hmac
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from broadcaster.settings import Settings

from .deps import SettingsDep
from .errors import ApiError, error_response

__all__ = [
    "API_KEY_HEADER",
    "PROTECTED_PATHS",
    "ApiKey",
    "ApiKeyGate",
    "key_matches",
    "key_refusal",
    "require_api_key",
]

#: The header carrying the API key.
API_KEY_HEADER = "X-API-Key"

_api_key = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="One of BROADCASTER_API_KEYS."
)
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`.")


def require_api_key(
    settings: SettingsDep,
    header: Annotated[str | None, Security(_api_key)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> None:
    """Let the request through only with a configured API key.

    Raises:
        ApiError: 503 when no key is configured, 401 when the key is missing or wrong.
    """
    given = header or (bearer.credentials if bearer is not None else None)
    refusal = key_refusal(given, [k.get_secret_value() for k in settings.api_keys])
    if refusal is not None:
        raise refusal


def key_refusal(given: str | None, keys: list[str]) -> ApiError | None:
    """Why a request carrying `given` must be refused, or None to let it through."""
    if not keys:
        return ApiError(503, "no API keys configured: set BROADCASTER_API_KEYS")
    if not given:
        return _refused(f"missing API key: send it in the {API_KEY_HEADER} header")
    if not key_matches(given, keys):
        return _refused("wrong API key")
    return None


def key_matches(given: str, keys: list[str]) -> bool:
    """True when `given` is one of `keys`; every key is compared, in constant time each."""
    found = False
    for key in keys:
        found |= hmac.compare_digest(given.encode(), key.encode())
    return found


def _refused(detail: str) -> ApiError:
    return ApiError(401, detail, headers={"WWW-Authenticate": "Bearer"})


#: Add to a router's `dependencies` to protect every route in it.
ApiKey = Depends(require_api_key)


#: The API's paths: each needs an API key (the health check, the webhook with its own
#: secret, the docs and the operator page with its own sign-in are outside them).
PROTECTED_PATHS = (
    "/campaigns", "/suppression", "/templates", "/messages", "/events", "/metrics",
)  # fmt: skip


class ApiKeyGate:
    """ASGI middleware: refuse a protected request before anything reads its body.

    FastAPI parses a JSON body before it runs dependencies, so without this gate a request
    with no key but a malformed body would learn the route's validation rules (422) instead
    of getting 401. `require_api_key` stays on the routes too (and documents them).
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.keys = [k.get_secret_value() for k in settings.api_keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _protected(scope["path"]):
            refusal = key_refusal(_given_key(scope), self.keys)
            if refusal is not None:
                response = error_response(
                    refusal.status_code, refusal.detail, headers=refusal.headers
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _protected(path: str) -> bool:
    return path.startswith(PROTECTED_PATHS)


def _given_key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            return str(value.decode("latin-1"))
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            return str(value[7:].decode("latin-1").strip())
    return None
