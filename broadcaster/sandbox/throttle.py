"""The sandbox's throttles: Laravel's fixed window (Replai's), and a strict sliding window.

Replai's `throttle` middleware (Laravel) counts hits per key in fixed buckets of `period`
seconds (`FixedWindowThrottle`), which lets up to twice the limit through around a bucket edge.
`SlidingWindowThrottle` is stricter: it remembers the time of every accepted request, so no
window of `period` seconds ever holds more than `limit` of them. Benchmarks check the stricter
property themselves, against the timestamps in `/_sandbox/sends`.
"""

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

__all__ = ["FixedWindowThrottle", "SlidingWindowThrottle", "Throttle", "ThrottleDecision"]


@dataclass(frozen=True, slots=True)
class ThrottleDecision:
    """The verdict on one request, with what the `X-RateLimit-*` headers report."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int = 0

    def headers(self) -> dict[str, str]:
        """The rate-limit headers of the answer (with `Retry-After` when refused)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class Throttle(Protocol):
    """Counts accepted requests per key over a period."""

    def hit(self, key: str, now: float, limit: int, period: float) -> ThrottleDecision:
        """Accept the request at `now` if the key's window allows it, and record it."""

    def clear(self) -> None:
        """Forget every window."""


class FixedWindowThrottle:
    """Laravel's throttle: at most `limit` accepted requests per key in each bucket of `period`
    seconds (aligned to the epoch); Retry-After runs to the end of the bucket."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, now: float, limit: int, period: float) -> ThrottleDecision:
        """Accept the request at `now` if its bucket is not full, and count it."""
        bucket = int(now // period)
        start, count = self._buckets.get(key, (bucket, 0))
        if start != bucket:
            count = 0
        if count >= limit:
            wait = (bucket + 1) * period - now
            return ThrottleDecision(False, limit, 0, max(1, math.ceil(wait)))
        self._buckets[key] = (bucket, count + 1)
        return ThrottleDecision(True, limit, limit - count - 1)

    def clear(self) -> None:
        """Forget every bucket."""
        self._buckets.clear()


class SlidingWindowThrottle:
    """Counts accepted requests per key over the last `period` seconds.

    Only accepted requests count, as in Laravel, where a refused request is not a hit.
    Timestamps must come from one clock; a timestamp older than the newest one stored is
    treated as equal to it, so the deques stay sorted.
    """

    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}

    def hit(self, key: str, now: float, limit: int, period: float) -> ThrottleDecision:
        """Accept the request at `now` if the window allows it, and record it."""
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = deque()
        elif window and now < window[-1]:
            now = window[-1]
        horizon = now - period
        while window and window[0] <= horizon:
            window.popleft()
        if len(window) >= limit:
            wait = window[len(window) - limit] + period - now
            return ThrottleDecision(False, limit, 0, max(1, math.ceil(wait)))
        window.append(now)
        return ThrottleDecision(True, limit, limit - len(window))

    def clear(self) -> None:
        """Forget every window."""
        self._windows.clear()
