"""Per-process resources: one Redis pool, one pooled Replai client, one limiter."""

import logging
import threading

import redis

from broadcaster.errors import ConfigurationError
from broadcaster.keys import Keys
from broadcaster.replai import ReplaiClient
from broadcaster.settings import Settings, get_settings
from broadcaster.store import CampaignStore

from .delivery import Policy, Resources
from .ratelimit import RateLimiter, RedisBackend

__all__ = ["build", "get", "reset"]

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_resources: Resources | None = None


def build(settings: Settings) -> Resources:
    """Create the resources a worker process needs from settings."""
    client = redis.Redis.from_url(settings.redis_url, max_connections=256)
    return Resources(
        store=CampaignStore(client, keys=Keys(settings.key_prefix)),
        client=replai_client(settings),
        limiter=RateLimiter(RedisBackend(client)),
        policy=Policy(
            rate_waba_per_minute=settings.rate_waba_per_minute,
            rate_device_per_minute=settings.rate_device_per_minute,
            max_attempts=settings.max_attempts,
            pair_interval=settings.pair_interval,
        ),
    )


def replai_client(settings: Settings) -> ReplaiClient:
    """A ReplaiClient configured from settings; refuses to start without credentials."""

    def secret(value: object) -> str | None:
        return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]

    token, password = secret(settings.replai_token), secret(settings.replai_password)
    api_key, device_key = (
        secret(settings.replai_api_key),
        secret(settings.replai_device_key),
    )
    if settings.replai_routes == "api" and not (token or (settings.replai_email and password)):
        raise ConfigurationError(
            "set BROADCASTER_REPLAI_TOKEN, or BROADCASTER_REPLAI_EMAIL and "
            "BROADCASTER_REPLAI_PASSWORD, to send through Replai"
        )
    if settings.replai_routes == "api-app" and not (api_key and device_key):
        raise ConfigurationError(
            "BROADCASTER_REPLAI_ROUTES=api-app needs BROADCASTER_REPLAI_API_KEY and "
            "BROADCASTER_REPLAI_DEVICE_KEY"
        )
    return ReplaiClient(
        base_url=settings.replai_base_url,
        token=token,
        email=settings.replai_email,
        password=password,
        api_key=api_key,
        device_key=device_key,
        routes=settings.replai_routes,
        timeout=settings.replai_timeout,
        connect_timeout=settings.replai_connect_timeout,
    )


def get() -> Resources:
    """This process's resources, created on first use (thread-safe)."""
    global _resources
    if _resources is None:
        with _lock:
            if _resources is None:
                _resources = build(get_settings())
    return _resources


def reset() -> None:
    """Forget this process's resources (after fork: never share sockets with the parent)."""
    global _resources
    _resources = None
