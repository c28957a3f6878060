"""Reaching Redis and the Celery broker from a command, with the deployment's settings."""

from collections.abc import Iterable

from broadcaster.keys import Keys
from broadcaster.store import CampaignStore

__all__ = ["open_store", "publish_sends", "workers_alive"]

#: Seconds to wait for Redis to accept a connection before saying it cannot be reached.
DEFAULT_CONNECT_TIMEOUT = 5.0


def open_store() -> CampaignStore:
    """A CampaignStore on the configured Redis and key prefix."""
    import redis

    from broadcaster.settings import get_settings

    settings = get_settings()
    client = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=DEFAULT_CONNECT_TIMEOUT
    )
    return CampaignStore(client, keys=Keys(settings.key_prefix), stale_after=settings.stale_after)


def publish_sends(campaign_id: str, indexes: Iterable[int]) -> None:
    """Queue the sends a lifecycle change released (needs the broker).

    Released recipients are also in the store's dispatch window: if publishing fails, the
    workers' ticker publishes them again once they are stale, so nothing is lost.
    """
    indexes = list(indexes)
    if not indexes:
        return
    from workers.tasks import publish_sends as publish

    publish(campaign_id, indexes)


def workers_alive(store: CampaignStore) -> bool:
    """True when at least one worker's heartbeat is in Redis (under this key prefix)."""
    return any(True for _ in store.redis.scan_iter(match=store.keys.workers(), count=1000))
