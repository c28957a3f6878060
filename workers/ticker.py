"""The ticker: one worker at a time (a Redis lock elects it) looks after deadlines.

Every `interval` seconds it starts scheduled campaigns whose time has come, expires paused
campaigns whose `expires_at` has passed and, for each running campaign, releases retries that
are due, republishes sends that sat too long in the broker (a lost message costs a delay, never
a recipient), and marks sends whose worker died mid-request as `unknown`. Without Celery ETA
tasks, nothing waits in a worker past the broker's visibility timeout. With
`BROADCASTER_RETENTION_DAYS` set, it also archives finished campaigns past it
(`retention.Retention`, in a thread of its own).
"""

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

import redis

from broadcaster import operations
from broadcaster.errors import BrokerUnavailable, CampaignError
from broadcaster.operations import Dispatch
from broadcaster.settings import get_settings
from broadcaster.store import CampaignStore

from . import events, resources
from .retention import Retention

__all__ = ["Ticker"]

logger = logging.getLogger(__name__)

#: Seconds between two ticks.
DEFAULT_INTERVAL = 0.5

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""


class Ticker:
    """Runs `tick_once` in a daemon thread while this process holds the ticker lock."""

    _global: "Ticker | None" = None

    def __init__(
        self,
        store: CampaignStore,
        dispatch: Dispatch,
        *,
        interval: float = DEFAULT_INTERVAL,
        node: str | None = None,
        retention: Retention | None = None,
        hand_out_events: Callable[[str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.retention = retention
        self.hand_out_events = hand_out_events
        self.node = node or f"{socket.gethostname()}:{os.getpid()}"
        self.dispatch = dispatch
        self.interval = interval
        self.token = uuid.uuid4().hex
        self._renew = store.redis.register_script(_RENEW)
        self._stop = threading.Event()
        self._indexed = False  # paused campaigns of earlier versions put in the expiring set
        self._thread = threading.Thread(target=self._run, name="broadcaster-ticker", daemon=True)

    @classmethod
    def start_global(
        cls, dispatch: Dispatch, hand_out_events: Callable[[str, str], None] | None = None
    ) -> None:
        """Start this process's ticker (called when the worker is ready)."""
        if cls._global is None:
            res = resources.get()
            retention = Retention.from_settings(res.store, get_settings())
            ticker = cls._global = cls(
                res.store, dispatch, retention=retention, hand_out_events=hand_out_events
            )
            ticker._thread.start()  # first: with Redis down now, the thread keeps trying
            try:
                ticker.beat()
            except redis.RedisError as exc:
                logger.warning("ticker: Redis error at start, will retry: %s", exc)

    @classmethod
    def stop_global(cls) -> None:
        """Stop this process's ticker."""
        if cls._global is not None:
            cls._global._stop.set()
            cls._global = None

    def is_leader(self) -> bool:
        """Take or keep the lock; True while this ticker is the one that acts."""
        ttl_ms = int(self.interval * 6000)
        key = self.store.keys.ticker_lock()
        return bool(self._renew(keys=[key], args=[self.token, ttl_ms]))

    def tick_once(self) -> int:
        """One pass over scheduled and running campaigns; returns sends published."""
        published = 0
        for cid in self.store.due_scheduled():
            try:
                published += operations.start(self.store, self.dispatch, cid)
            except CampaignError as exc:  # paused or cancelled meanwhile
                logger.info("ticker: campaign %s not started: %s", cid, exc)
            except BrokerUnavailable as exc:  # started: its sends wait in the window
                logger.warning("ticker: campaign %s started, sends not queued yet: %s", cid, exc)
        self.store.expire_paused()
        for cid in self.store.running_ids():
            released = self.store.tick(cid)
            if released:
                self.dispatch.publish(cid, released)
            published += len(released)
        if self.retention is not None:
            self.retention.maybe_run()
        if self.hand_out_events is not None:
            self._events_due()
        return published

    def _events_due(self) -> None:
        """Hand each subscription with events due to a delivery task (with its lock)."""
        assert self.hand_out_events is not None
        for sub in self.store.due_hooks():
            token = uuid.uuid4().hex
            if not self.store.lock_hook(sub, token, events.HAND_OUT_LEASE):
                continue
            try:
                self.hand_out_events(sub, token)
            except Exception as exc:  # the broker is away: try again next tick
                self.store.unlock_hook(sub, token)
                logger.warning("ticker: events of %s not handed out: %r", sub, exc)

    def _index_paused_expiries(self) -> None:
        indexed = self.store.index_paused_expiries()
        self._indexed = True
        if indexed:
            logger.info("ticker: %d paused campaign(s) now expire while paused", indexed)

    def beat(self) -> None:
        """Tell the world this worker is alive (read by health checks)."""
        self.store.redis.set(self.store.keys.worker(self.node), self.store.clock(), ex=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
                if self.is_leader():
                    if not self._indexed:  # once per process, by the first leader
                        self._index_paused_expiries()
                    self.tick_once()
            except redis.RedisError as exc:
                logger.warning("ticker: Redis error, will retry: %s", exc)
            except Exception:
                logger.exception("ticker: unexpected error")
