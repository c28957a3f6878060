"""What a command works with: the deployment's store and dispatch, from its settings."""

from broadcaster.operations import Dispatch, LaunchDefaults, load_dispatch
from broadcaster.settings import get_settings
from broadcaster.store import CampaignStore
from broadcaster.store import open_store as _open_store

__all__ = ["launch_defaults", "open_dispatch", "open_store", "workers_alive"]


def open_store() -> CampaignStore:
    """A CampaignStore on the configured Redis and key prefix."""
    return _open_store(get_settings())


def open_dispatch() -> Dispatch:
    """The configured dispatch (Celery): how released sends reach the workers."""
    return load_dispatch(get_settings().dispatch)


def launch_defaults() -> LaunchDefaults:
    """The deployment's launch defaults (region, window, batch, channel rates)."""
    return LaunchDefaults.from_settings(get_settings())


def workers_alive(store: CampaignStore) -> bool:
    """True when at least one worker's heartbeat is in Redis (under this key prefix)."""
    return any(True for _ in store.redis.scan_iter(match=store.keys.workers(), count=1000))
