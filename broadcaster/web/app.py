"""The FastAPI app: `uvicorn broadcaster.web.app:create_app --factory`.

OpenAPI at `/openapi.json`, interactive docs at `/docs`. Every route except `/healthz` and
the webhook needs an API key (`X-API-Key` or `Authorization: Bearer`).
"""

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from broadcaster.redact import WebhookPathFilter
from broadcaster.settings import Settings, get_settings

from .auth import ApiKeyGate
from .deps import WebResources
from .errors import install_error_handlers
from .pages import install_pages
from .routes import (
    campaigns,
    contacts,
    control,
    events,
    health,
    metrics,
    operator,
    reports,
    suppression,
    webhooks,
)
from .routes.webhooks import WebhookReceiver
from .uploads import BodyLimit

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

_DESCRIPTION = """\
WhatsApp broadcast campaigns through Replai.id.

Create a campaign with `POST /campaigns` (a CSV upload or JSON recipients), watch it with
`GET /campaigns/{id}`, download `GET /campaigns/{id}/report.csv`. Authenticate with the
`X-API-Key` header (or `Authorization: Bearer <key>`), one of `BROADCASTER_API_KEYS`.
Errors are JSON: `{"detail": "<what to fix>"}`, sometimes with more fields (`errors` lists
row problems with their line numbers).
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; `settings` defaults to the environment's (`BROADCASTER_*`)."""
    resources = WebResources(settings or get_settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with resources.serving():
            yield
        resources.close()

    app = FastAPI(
        title="Broadcaster",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.resources = resources
    install_error_handlers(app)
    # before install_pages: its session middleware must run first, to turn a cookie into a key
    app.add_middleware(BodyLimit, limit=resources.settings.max_upload_bytes)
    app.add_middleware(ApiKeyGate, settings=resources.settings)
    routers = (campaigns, control, contacts, events, reports, suppression, webhooks, health)
    for module in (*routers, metrics, operator):
        app.include_router(module.router)
    install_pages(app, resources.settings)
    app.add_middleware(WebhookReceiver, resources=resources)  # outermost: callbacks skip the rest
    _hide_webhook_secret_in_access_log()
    return app


def _hide_webhook_secret_in_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, WebhookPathFilter) for f in access.filters):
        access.addFilter(WebhookPathFilter())
