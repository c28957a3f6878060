"""Global rate limits, shared by every worker process on every host.

GCRA (generic cell rate algorithm): the limiter keeps one timestamp per key, the theoretical
arrival time (TAT) of the next send. Each caller reserves the next free slot and waits until
it; slots are spaced `period / limit` apart, so no window of `period` ever holds more than
`limit` sends, even at window boundaries (unlike a fixed-window bucket, which lets twice the
limit through around a boundary).

A send passes several limits (`broadcaster.limits`): `RateLimiter.reserve_nested` reserves the
inner ones (the campaign's own pace, the sender's) at one common slot and, only once that slot
has come, the outer one (the account's, shared by every sender on it), so no send holds a slot
of the account while it still waits for another limit.

Usage:
    limiter = RateLimiter(RedisBackend(redis_client), safety_margin=0.025)
    try:
        time.sleep(limiter.reserve("account:default:waba", per_minute=120, max_wait=2.0))
    except RateLimitExceeded as exc:
        ...  # too far ahead: come back after exc.retry_after instead of holding the worker

Caveat: a reservation is spent even if the caller then sends nothing.
"""

from .limiter import RateLimiter, Reservation
from .memory_backend import MemoryBackend
from .redis_backend import RedisBackend

__all__ = ["MemoryBackend", "RateLimiter", "RedisBackend", "Reservation"]
