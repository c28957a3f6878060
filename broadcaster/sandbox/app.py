"""The sandbox's ASGI app: a Starlette app (not FastAPI, for a cheap send path)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from broadcaster.sandbox import api_auth, api_chats, api_devices, api_webhooks, control
from broadcaster.sandbox.callbacks import CallbackPoster
from broadcaster.sandbox.options import SandboxOptions
from broadcaster.sandbox.outgoing import SEND_ROUTES, SendRoute
from broadcaster.sandbox.responses import REASONS, error_page
from broadcaster.sandbox.sending import Sender
from broadcaster.sandbox.state import SandboxState

__all__ = ["Gate", "create_app"]

logger = logging.getLogger(__name__)

_SEND_PATHS = frozenset(r.path for r in SEND_ROUTES)


class Gate:
    """Pure ASGI middleware: `down` mode and latency for every route but `/_sandbox/*`.

    Send routes sleep their latency themselves, after the throttle (see `sending`).
    """

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and not path.startswith("/_sandbox"):
            config = self.state.config
            if config.down:
                page = HTMLResponse(f"<html><body><h1>503 {REASONS[503]}</h1></body></html>", 503)
                await page(scope, receive, send)
                return
            if config.latency and path not in _SEND_PATHS:
                await asyncio.sleep(config.latency)
        await self.app(scope, receive, send)


def _send_endpoint(sender: Sender, route: SendRoute) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await sender.handle(request, route)

    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path.lstrip("/")
    if exc.status_code == 404:
        message = f"The route {path} could not be found."
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = (
            f"The {request.method} method is not supported for route {path}."
            f" Supported methods: {allowed}."
        )
    else:
        message = exc.detail
    return error_page(request, exc.status_code, message, exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("sandbox error on %s", request.url.path, exc_info=exc)
    return error_page(request, 500, "Server Error")


def create_app(options: SandboxOptions) -> Starlette:
    """Build a sandbox app with fresh in-memory state.

    Example:
        uvicorn.run(create_app(SandboxOptions(port=8900)), port=8900)
    """
    state = SandboxState(options)
    callbacks = CallbackPoster(state)
    sender = Sender(state, callbacks)
    routes: list[BaseRoute] = [
        Route(r.path, _send_endpoint(sender, r), methods=["POST"]) for r in SEND_ROUTES
    ]
    routes += api_auth.routes(state)
    routes += api_chats.routes(state)
    routes += api_devices.routes(state)
    routes += api_webhooks.routes(state, callbacks)
    routes += control.routes(state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await callbacks.start()
        try:
            yield
        finally:
            await callbacks.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(Gate, state=state)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.sandbox = state
    return app
