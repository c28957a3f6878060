"""API keys: `X-API-Key: <key>` or `Authorization: Bearer <key>`, compared in constant time.

With no key configured every protected route answers 503: an API that forgot its keys fails
closed instead of opening to everyone.
"""

import hmac
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .deps import SettingsDep
from .errors import ApiError

__all__ = ["API_KEY_HEADER", "ApiKey", "key_matches", "require_api_key"]

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
    if not settings.api_keys:
        raise ApiError(503, "no API keys configured: set BROADCASTER_API_KEYS")
    given = header or (bearer.credentials if bearer is not None else None)
    if not given:
        raise _refused(f"missing API key: send it in the {API_KEY_HEADER} header")
    if not key_matches(given, [k.get_secret_value() for k in settings.api_keys]):
        raise _refused("wrong API key")


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
