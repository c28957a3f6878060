"""Riding out a campaign store (Redis) that cannot answer for a while.

Redis can be paused (a long fork, a stopped VM), full (`maxmemory` with `noeviction`: every
write refused), restarting (connection refused, then `LOADING`) or failing over (`READONLY`,
`MASTERDOWN`). None of that is a reason to lose a send or end a worker: a call that meets it
is tried again with backoff until a deadline, and the send path decides what the deadline is.
"""

import logging
import random
from collections.abc import Callable
from typing import TypeVar

import redis

__all__ = ["DEFAULT_BACKOFF_CAP", "retry_while_unavailable", "unavailable"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Longest pause between two tries (seconds).
DEFAULT_BACKOFF_CAP = 2.0
#: First pause between two tries (seconds); doubles, with jitter, up to the cap.
DEFAULT_BACKOFF_BASE = 0.05
#: Error replies that say "not now" rather than "wrong call" (redis-py raises a plain
#: ResponseError for them).
_NOT_NOW = ("MISCONF", "BUSY", "NOREPLICAS", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "OOM")


def unavailable(exc: BaseException) -> bool:
    """True when a Redis error means Redis cannot answer now (try again later), not that the
    call itself is wrong."""
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):  # LOADING included
        return True
    if isinstance(exc, redis.exceptions.OutOfMemoryError | redis.exceptions.ReadOnlyError):
        return True
    return isinstance(exc, redis.ResponseError) and str(exc).startswith(_NOT_NOW)


def retry_while_unavailable(
    call: Callable[[], T],
    *,
    until: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    what: str,
) -> T:
    """Run `call`; while it fails because Redis is unavailable, wait and try again until the
    time `until` (on `clock`). The last error is raised after that, and any other error at once.
    """
    pause, warned = DEFAULT_BACKOFF_BASE, False
    while True:
        try:
            return call()
        except redis.RedisError as exc:
            if not unavailable(exc) or clock() + pause > until:
                raise
            if not warned:
                logger.warning("Redis unavailable while %s; trying again: %s", what, exc)
                warned = True
            sleep(random.uniform(pause / 2, pause))
            pause = min(DEFAULT_BACKOFF_CAP, pause * 2)
