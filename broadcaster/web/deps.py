"""Dependencies: settings, Redis, the campaign store, the Replai client and the dispatch.

`create_app(settings)` builds one `WebResources` per app (kept on `app.state`); the
dependencies below hand out its parts. Tests replace any of them with
`app.dependency_overrides[get_dispatch] = ...`.
"""

import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import redis
import redis.asyncio
from fastapi import Depends, Request

from broadcaster.limits import DEFAULT_ACCOUNT
from broadcaster.metrics import Recorder
from broadcaster.operations import Dispatch, LaunchDefaults, load_dispatch
from broadcaster.replai import ReplaiClient
from broadcaster.settings import Settings
from broadcaster.store import CampaignStore, WebhookRules, open_store

__all__ = [
    "ClientDep",
    "ClientFactoryDep",
    "DefaultsDep",
    "DispatchDep",
    "RedisDep",
    "SettingsDep",
    "StoreDep",
    "WebResources",
    "get_client",
    "get_client_factory",
    "get_defaults",
    "get_dispatch",
    "get_redis",
    "get_settings",
    "get_store",
]

logger = logging.getLogger(__name__)

#: The webhook receiver's Redis connections, and how long a callback waits for one (seconds).
WEBHOOK_REDIS_CONNECTIONS = 64
WEBHOOK_REDIS_WAIT = 5.0


class WebResources:
    """What one app shares across requests: a Redis pool, the store, one Replai client.

    The Replai client is created on first use, so the API runs without Replai credentials
    until a route needs Replai (a test send, a template check). While the app serves
    (`serving()`, in its lifespan), an asyncio Redis client runs the webhook script.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis: Any = settings.redis_client()
        self.store = open_store(settings, redis=self.redis)
        self.webhook_rules = WebhookRules.from_settings(settings)
        self.defaults = LaunchDefaults.from_settings(settings)
        #: Counts of this process (webhook callbacks), added to Redis once a second.
        self.metrics = Recorder(self.redis, self.store.keys.metrics())
        self._dispatch: Dispatch | None = None
        self._clients: dict[str, ReplaiClient] = {}
        self._lock = threading.Lock()
        self._webhook_script: Any = None

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """Open the asyncio Redis client of `run_webhook_script` on the serving event loop."""
        try:
            self.store.migrate_suppression()
        except redis.RedisError as exc:  # the app serves without Redis; /healthz says so
            logger.warning("suppression list not migrated: %s", exc)
        client = self._async_redis()
        self._webhook_script = client.register_script(self.store.webhook_script)
        try:
            yield
        finally:
            self._webhook_script = None
            await client.aclose()

    async def run_webhook_script(self, keys: list[str], args: list[Any]) -> Any:
        """Run the store's webhook script (`CampaignStore.webhook_call`) without blocking."""
        if self._webhook_script is not None:
            return await self._webhook_script(keys=keys, args=args)
        # served without a lifespan (a test client outside `with`): a client for this call
        async with self._async_redis() as client:
            script = client.register_script(self.store.webhook_script)
            return await script(keys=keys, args=args)

    def _async_redis(self) -> Any:
        # A blocking pool: a burst of callbacks waits for a connection instead of failing
        # (the default pool raises past 100, and a callback answered 503 is lost: Replai does
        # not retry). socket_timeout: a Redis that stops answering fails the call, not hangs it.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            self.settings.redis_url,
            max_connections=WEBHOOK_REDIS_CONNECTIONS,
            timeout=WEBHOOK_REDIS_WAIT,
            socket_connect_timeout=self.settings.redis_connect_timeout,
            socket_timeout=WEBHOOK_REDIS_WAIT,
        )
        return redis.asyncio.Redis.from_pool(pool)  # the client owns (and closes) the pool

    def dispatch(self) -> Dispatch:
        """The deployment's dispatch (`BROADCASTER_DISPATCH`), loaded on first use."""
        with self._lock:
            if self._dispatch is None:
                self._dispatch = load_dispatch(self.settings.dispatch)
            return self._dispatch

    def client(self, account: str | None = None) -> ReplaiClient:
        """The app's Replai client of an account (the default one unless named), created on
        first use; raises ConfigurationError for an unknown account or without credentials."""
        name = account or DEFAULT_ACCOUNT
        with self._lock:
            if name not in self._clients:
                self._clients[name] = self.settings.replai_client(name)
            return self._clients[name]

    def close(self) -> None:
        """Close the Replai client and the Redis pool."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
        self.redis.close()


def _resources(request: Request) -> WebResources:
    resources: WebResources = request.app.state.resources
    return resources


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    return _resources(request).settings


def get_redis(request: Request) -> Any:
    """The app's Redis client (bytes responses)."""
    return _resources(request).redis


def get_store(request: Request) -> CampaignStore:
    """The app's campaign store."""
    return _resources(request).store


def get_client(request: Request) -> ReplaiClient:
    """The app's Replai client (ConfigurationError -> 503 when Replai is not configured)."""
    return _resources(request).client()


def get_client_factory(request: Request) -> Callable[[str], ReplaiClient]:
    """Get an account's Replai client only when needed: `client = factory(account)`."""
    return _resources(request).client


def get_dispatch(request: Request) -> Dispatch:
    """The dispatch that publishes released sends (Celery); tests override this dependency."""
    return _resources(request).dispatch()


def get_defaults(request: Request) -> LaunchDefaults:
    """The deployment's launch defaults (region, window, batch, channel rates)."""
    return _resources(request).defaults


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Any, Depends(get_redis)]
StoreDep = Annotated[CampaignStore, Depends(get_store)]
ClientDep = Annotated[ReplaiClient, Depends(get_client)]
ClientFactoryDep = Annotated[Callable[[str], ReplaiClient], Depends(get_client_factory)]
DispatchDep = Annotated[Dispatch, Depends(get_dispatch)]
DefaultsDep = Annotated[LaunchDefaults, Depends(get_defaults)]
