"""Operator sessions: the sign-in cookie of the web pages, and what it lets through.

An operator signs in on `/ui/login` with one of `BROADCASTER_API_KEYS`. The answer sets the
cookie `bc_session` to `<expiry>.<hex HMAC-SHA256(secret, "session:<expiry>")>`, where
`secret` is derived from the API key used; the cookie is HttpOnly (page scripts never see
it or the key), SameSite=Strict (a cross-site request does not carry it), Secure over HTTPS.

Nothing is stored on the server: a cookie is valid until its expiry while the key it was
signed with is still configured, so removing or rotating a key ends its sessions at once.
Signing out deletes the cookie in the browser; a copy taken before stays valid until it
expires (`DEFAULT_SESSION_SECONDS`).

The pages call the same JSON API as every other client. `SessionKeys`, a middleware, gives a
request that carries no API key but a valid session cookie the key the session was signed
with, so the API's `require_api_key` lets it through unchanged. A request other than GET or
HEAD also needs the header `X-Requested-With: broadcaster`: a page of another origin cannot
send it without a CORS preflight, which this app never grants.
"""

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from broadcaster.settings import Settings

__all__ = [
    "CSRF_HEADER",
    "CSRF_VALUE",
    "DEFAULT_SESSION_SECONDS",
    "SESSION_COOKIE",
    "SessionKeys",
    "configured_keys",
    "new_session",
    "session_key",
]

#: The cookie holding the session.
SESSION_COOKIE = "bc_session"
#: Seconds a session lasts after signing in.
DEFAULT_SESSION_SECONDS = 12 * 3600.0
#: The header (and its value) a page's unsafe request must carry to be let through.
CSRF_HEADER = "X-Requested-With"
CSRF_VALUE = "broadcaster"

_SAFE_METHODS = frozenset({"GET", "HEAD"})
_CONTEXT = b"broadcaster operator session v1"


def configured_keys(settings: Settings) -> list[str]:
    """The API keys an operator may sign in with."""
    return [key.get_secret_value() for key in settings.api_keys]


def new_session(key: str, *, lifetime: float = DEFAULT_SESSION_SECONDS, now: float) -> str:
    """A session token signed with `key`, valid for `lifetime` seconds from `now`."""
    expiry = int(now + lifetime)
    return f"{expiry}.{_signature(key, expiry)}"


def session_key(token: str | None, keys: Sequence[str], *, now: float) -> str | None:
    """The API key `token` was signed with, or None: unsigned, tampered or expired.

    Every configured key is tried, each compared in constant time.
    """
    if not token:
        return None
    expiry_text, _, signature = token.partition(".")
    if not expiry_text.isdigit() or len(expiry_text) > 12 or int(expiry_text) <= now:
        return None
    found = None
    for key in keys:
        expected = _signature(key, int(expiry_text))
        if hmac.compare_digest(signature.encode(), expected.encode()):
            found = key
    return found


def _signature(key: str, expiry: int) -> str:
    # a secret of its own, so a session signature is never an HMAC keyed by the API key itself
    secret = hmac.new(key.encode(), _CONTEXT, hashlib.sha256).digest()
    return hmac.new(secret, f"session:{expiry}".encode(), hashlib.sha256).hexdigest()


class SessionKeys:
    """ASGI middleware: a request with a valid session cookie and no API key gets the key.

    Args:
        app: the app to call.
        settings: where the API keys are configured.
        clock: seconds since the epoch (tests pass a fake).
    """

    def __init__(
        self, app: ASGIApp, *, settings: Settings, clock: Callable[[], float] = time.time
    ) -> None:
        self.app = app
        self.keys = configured_keys(settings)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = self._with_key(scope)
        await self.app(scope, receive, send)

    def _with_key(self, scope: Scope) -> Scope:
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        names = {name.lower() for name, _ in headers}
        if b"x-api-key" in names or b"authorization" in names:
            return scope  # a client with its own credentials is judged by them alone
        if scope["method"] not in _SAFE_METHODS and (
            (CSRF_HEADER.lower().encode(), CSRF_VALUE.encode()) not in headers
        ):
            return scope
        cookie = b"; ".join(value for name, value in headers if name.lower() == b"cookie")
        token = cookie_parser(cookie.decode("latin-1")).get(SESSION_COOKIE)
        key = session_key(token, self.keys, now=self.clock())
        if key is None:
            return scope
        return dict(scope, headers=[*headers, (b"x-api-key", key.encode())])
