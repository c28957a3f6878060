"""The HTTP plumbing under `ReplaiClient`: one pooled `httpx.Client`, auth, envelopes.

Bearer auth comes from a static token, or from email + password: the first authenticated
call logs in and caches the token; a 401 logs in again once and retries the call once.
"""

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from broadcaster.errors import ReplaiAuthError, ReplaiError, ReplaiRejected

from .classify import _map_httpx_errors
from .envelope import data_of, unwrap
from .models import LoginResult

__all__ = ["REF_HEADER", "ReplaiConnection"]

logger = logging.getLogger(__name__)

#: Carries `<campaign_id>:<index>` on every send (Replai ignores unknown headers).
REF_HEADER = "X-Broadcaster-Ref"
_USER_AGENT = "broadcaster-replai/0.1"
#: Seconds an idle pooled connection is kept. Shorter than common server keep-alive
#: timeouts (uvicorn's is 5 s), so a send rarely races the server closing the
#: connection, which would end as an ambiguous `ReplaiTimeout`.
DEFAULT_KEEPALIVE_EXPIRY = 3.0

T = TypeVar("T")
Params = Mapping[str, str]


class ReplaiConnection:
    """Sends requests to Replai and returns decoded bodies of successful answers.

    Every method raises a `ReplaiError` subclass on failure, never an httpx exception.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        email: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
        max_connections: int = 20,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        if timeout <= 0 or connect_timeout <= 0:
            raise ValueError(f"timeouts must be > 0, got {timeout!r} and {connect_timeout!r}")
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections!r}")
        self._token = token or None
        self._email = email or None
        self._password = password or None
        self._login_lock = threading.Lock()
        self._base_url = base_url.rstrip("/")
        self._headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        self._extensions = {"timeout": httpx.Timeout(timeout, connect=connect_timeout).as_dict()}
        self._urls: dict[str, httpx.URL] = {}
        self._http = httpx.Client(
            base_url=self._base_url,
            headers=self._headers,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=DEFAULT_KEEPALIVE_EXPIRY,
            ),
            transport=transport,
        )

    @property
    def token(self) -> str | None:
        """The Bearer token in use, if any."""
        return self._token

    @property
    def can_authenticate(self) -> bool:
        """True when a token is known or can be obtained by logging in."""
        return self._token is not None or self._has_credentials

    @property
    def _has_credentials(self) -> bool:
        return self._email is not None and self._password is not None

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def forget_token(self) -> None:
        """Drop the cached token (after a logout)."""
        self._token = None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Mapping[str, Any] | None = None,
        ref: str | None = None,
        auth: bool = True,
        relogin: bool = True,
    ) -> Any:
        """Send one request; return the decoded body of a successful answer (or None).

        Args:
            auth: send the Bearer token (logging in first when needed).
            relogin: on a 401, log in again once and retry (with email and password).
        """
        headers = {REF_HEADER: ref} if ref else {}
        if not auth:
            return self._send(method, path, params, json, headers)
        return self._authorized(
            lambda h: self._send(method, path, params, json, h),
            headers,
            relogin=relogin,
        )

    def stream(
        self,
        path: str,
        params: Params,
        consume: Callable[[Iterator[bytes]], T],
        unpack: Callable[[Any], bytes],
    ) -> T:
        """GET a binary body and pass its chunks to `consume`, without holding it whole.

        Args:
            consume: reads the chunks, returns the result (bytes, or a byte count).
            unpack: turns a successful JSON answer into the file's bytes (base64 media).
        """

        def fetch(headers: dict[str, str]) -> T:
            with (
                _map_httpx_errors(),
                self._http.stream("GET", path, params=params, headers=headers) as response,
            ):
                is_json = "json" in response.headers.get("content-type", "")
                if is_json or not 200 <= response.status_code < 300:
                    response.read()
                    return consume(iter((unpack(data_of(unwrap(response))),)))
                return consume(response.iter_bytes())

        return self._authorized(fetch, {}, relogin=True)

    def login(self, email: str | None = None, password: str | None = None) -> LoginResult:
        """Log in with the given (or configured) credentials and cache the token.

        Raises:
            ValueError: no email or password is known.
            ReplaiAuthError: Replai refused the credentials or answered without a token.
        """
        email = email or self._email
        password = password or self._password
        if not email or not password:
            raise ValueError("login needs an email and a password")
        try:
            body = self._send("POST", "/api/login", None, {"email": email, "password": password})
        except ReplaiRejected as exc:
            raise ReplaiAuthError(
                f"login failed: {exc.message}",
                status_code=exc.status_code,
                code=exc.code,
            ) from exc
        result = LoginResult.from_api(body if isinstance(body, Mapping) else {})
        if not result.token:
            raise ReplaiAuthError("login answered without a token", status_code=200)
        self._email, self._password, self._token = email, password, result.token
        logger.info("logged in to Replai")
        return result

    def _send(
        self,
        method: str,
        path: str,
        params: Params | None,
        json: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        # The request is built here rather than by Client.request: the URL of a path is parsed
        # once, and the client's defaults need no merging per call (a third of the client's
        # CPU per send). Client.send still applies proxies from the environment.
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(self._base_url + path)
            if len(self._urls) < 64:  # the client's paths are a few constants
                self._urls[path] = url
        with _map_httpx_errors():
            request = httpx.Request(
                method, url, params=params, json=json,
                headers={**self._headers, **headers} if headers else self._headers,
                extensions=self._extensions,
            )  # fmt: skip
            response = self._http.send(request)
        return unwrap(response)

    def _authorized(
        self,
        call: Callable[[dict[str, str]], T],
        headers: dict[str, str],
        *,
        relogin: bool,
    ) -> T:
        token = self._token or self._first_login()
        headers["Authorization"] = "Bearer " + token
        try:
            return call(headers)
        except ReplaiAuthError as exc:
            if exc.status_code != 401 or not relogin or not self._has_credentials:
                raise
            logger.warning("Replai answered 401 (%s); logging in again", exc.message)
            headers["Authorization"] = "Bearer " + self._relogin(stale=token)
            return call(headers)

    def _first_login(self) -> str:
        if not self._has_credentials:
            raise ReplaiAuthError("no Replai token: pass token=, or email= and password=")
        return self._relogin(stale=None)

    def _relogin(self, stale: str | None) -> str:
        """Log in unless another thread already replaced the `stale` token meanwhile."""
        with self._login_lock:
            if self._token is not None and self._token != stale:
                return self._token
            token = self.login().token
        if token is None:  # login() guarantees a token; keeps mypy honest
            raise ReplaiError("login answered without a token")
        return token
