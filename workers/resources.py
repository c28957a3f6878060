"""Per-process resources: one Redis pool, one pooled Replai client, one limiter."""

import logging
import threading

import redis

from broadcaster.keys import Keys
from broadcaster.settings import Settings, get_settings
from broadcaster.store import CampaignStore

from .delivery import Policy, Resources
from .ratelimit import DailyCap, RateLimiter, RedisBackend

__all__ = ["build", "get", "reset"]

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_resources: Resources | None = None


def build(settings: Settings) -> Resources:
    """Create the resources a worker process needs from settings."""
    client = redis.Redis.from_url(settings.redis_url, max_connections=256)
    return Resources(
        store=CampaignStore(
            client, keys=Keys(settings.key_prefix), stale_after=settings.stale_after
        ),
        client=settings.replai_client(),
        limiter=RateLimiter(RedisBackend(client), safety_margin=settings.rate_margin),
        daily_cap=DailyCap(client, cap=settings.daily_cap) if settings.daily_cap else None,
        policy=Policy(
            rate_waba_per_minute=settings.rate_waba_per_minute,
            rate_device_per_minute=settings.rate_device_per_minute,
            max_attempts=settings.max_attempts,
            pair_interval=settings.pair_interval,
            backoff_base=settings.backoff_base,
            lease=settings.lease,
        ),
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
