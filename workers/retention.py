"""Retention: the ticker archives finished campaigns older than `Settings.retention_days`.

At most every `check` seconds the ticker looks for completed or cancelled campaigns that
finished more than `retention` seconds ago and archives them (`operations.archive_due`) in a
thread of their own, one pass at a time, so a large archive never holds up the ticks that
keep running campaigns going.
"""

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import redis

from broadcaster import operations
from broadcaster.store import CampaignStore

if TYPE_CHECKING:
    from broadcaster.settings import Settings

__all__ = ["Retention"]

logger = logging.getLogger(__name__)


class Retention:
    """Archives what is due, from the ticker.

    Args:
        store: the campaign store.
        directory: where reports are archived (`Settings.archive_dir`).
        retention: seconds after its finish a campaign is archived.
        check: seconds between two looks.
    """

    def __init__(
        self, store: CampaignStore, directory: Path, *, retention: float, check: float
    ) -> None:
        self.store = store
        self.directory = directory
        self.retention = retention
        self.check = check
        self._last = float("-inf")
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, store: CampaignStore, settings: "Settings") -> "Retention | None":
        """The deployment's retention, or None when `retention_days` is not set."""
        if settings.retention_days is None:
            return None
        retention = settings.retention_days * operations.DAY
        return cls(
            store, settings.archive_dir, retention=retention, check=settings.retention_check
        )

    def maybe_run(self) -> bool:
        """Start a pass when one is due and none is running; True when one started."""
        now = self.store.clock()
        if now - self._last < self.check or self.running:
            return False
        self._last = now
        self._thread = threading.Thread(
            target=self._pass, name="broadcaster-retention", daemon=True
        )
        self._thread.start()
        return True

    @property
    def running(self) -> bool:
        """True while a pass is archiving."""
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the current pass (tests, shutdown)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def _pass(self) -> None:
        try:
            done = operations.archive_due(self.store, self.directory, retention=self.retention)
            if done:
                logger.info("retention: archived %d campaigns", len(done))
        except redis.RedisError as exc:
            logger.warning("retention: Redis error, will retry: %s", exc)
        except Exception:
            logger.exception("retention: unexpected error")
