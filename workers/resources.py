"""Per-process resources: one Redis pool, a pooled Replai client per account, one limiter."""

import logging
import threading

from broadcaster.calendar import CalendarClock
from broadcaster.errors import ConfigurationError
from broadcaster.limits import DEFAULT_ACCOUNT
from broadcaster.sendhours import SendHours
from broadcaster.settings import Settings, get_settings
from broadcaster.store import open_store

from . import instruments
from .ratelimit import RateLimiter, RedisBackend
from .sendpath import Policy, Resources

__all__ = ["build", "get", "reset"]

logger = logging.getLogger(__name__)

#: Redis connections per worker process: above any thread count a worker runs with.
DEFAULT_REDIS_CONNECTIONS = 256
_lock = threading.Lock()
_resources: Resources | None = None


def build(settings: Settings) -> Resources:
    """Create the resources a worker process needs from settings."""
    client = settings.redis_client(max_connections=DEFAULT_REDIS_CONNECTIONS)
    store = open_store(settings, redis=client)
    store.migrate_suppression()  # before any claim reads the list (a no-op once done)
    clients, unusable = {}, {}
    for name in settings.replai_accounts():
        try:
            clients[name] = settings.replai_client(name)
        except ConfigurationError as exc:  # the default's is checked at start (tasks.py)
            logger.error("Replai account %r cannot be used: %s", name, exc)
            unusable[name] = str(exc)
    if DEFAULT_ACCOUNT in unusable:
        raise ConfigurationError(unusable[DEFAULT_ACCOUNT])
    res = Resources(
        store=store,
        client=clients[DEFAULT_ACCOUNT],
        clients=clients,
        unusable=unusable,
        limiter=RateLimiter(RedisBackend(client), safety_margin=settings.rate_margin),
        daily_cap=settings.daily_cap,
        policy=Policy.from_settings(settings),
        hours=SendHours(CalendarClock.parse(settings.calendar_clock), settings.calendar_margin),
    )
    res.round_trips.measure(client.ping)
    if settings.metrics:
        instruments.measure(res)
    return res


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
