"""A global rate limit per sender, shared by every worker process on every host.

GCRA (generic cell rate algorithm): the limiter keeps one timestamp per key, the theoretical
arrival time (TAT) of the next send. Each caller reserves the next free slot and waits until
it; slots are spaced `period / limit` apart, so no window of `period` ever holds more than
`limit` sends, even at window boundaries (unlike a fixed-window bucket, which lets twice the
limit through around a boundary).

Usage:
    limiter = RateLimiter(RedisBackend(redis_client))
    try:
        time.sleep(limiter.reserve("waba:123", per_minute=120, max_wait=2.0))
    except RateLimitExceeded as exc:
        ...  # too far ahead: come back after exc.retry_after instead of holding the worker

Caveat: a reservation is spent even if the caller then sends nothing.
"""

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from broadcaster.errors import RateLimitExceeded
from broadcaster.store import scripts

__all__ = ["MemoryBackend", "RateLimiter", "RedisBackend"]

# Times are whole microseconds (Redis TIME's resolution): whole milliseconds would round the
# spacing, 51.5 ms to 52 at 20 a second, and give away a share of the rate for nothing.

_PENALIZE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > tat then
  redis.call('SET', KEYS[1], string.format('%d', until_),
             'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
"""


class Backend(Protocol):
    """Storage of the limiter's state: one atomic reserve and one penalize per key."""

    def reserve(self, key: str, interval_us: int, max_wait_us: int) -> int:
        """Reserve the next slot; return µs to wait, or -(wait + 1) when beyond max_wait."""

    def penalize(self, key: str, delay_us: int) -> None:
        """Hold back every slot of this key for delay_us from now."""


class RedisBackend:
    """The limiter's state in Redis; Redis's own clock is used, so hosts need not agree."""

    def __init__(self, client: "redis.Redis") -> None:
        # the same GCRA step as the store's prepare.lua, which reserves a send's first slot
        self._reserve = scripts.load(client, "slot.lua")
        self._penalize = client.register_script(_PENALIZE)

    def reserve(self, key: str, interval_us: int, max_wait_us: int) -> int:
        """See Backend.reserve."""
        return int(self._reserve(keys=[key], args=[interval_us, max_wait_us]))

    def penalize(self, key: str, delay_us: int) -> None:
        """See Backend.penalize."""
        self._penalize(keys=[key], args=[delay_us])


class MemoryBackend:
    """The limiter's state in this process only: for tests and single-process use."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tat: dict[str, int] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, interval_us: int, max_wait_us: int) -> int:
        """See Backend.reserve."""
        now = round(self.clock() * 1e6)
        with self._lock:
            tat = max(self._tat.get(key, 0), now)
            wait = tat - now
            if wait > max_wait_us:
                return -wait - 1
            self._tat[key] = tat + interval_us
            return wait

    def penalize(self, key: str, delay_us: int) -> None:
        """See Backend.penalize."""
        now = round(self.clock() * 1e6)
        with self._lock:
            self._tat[key] = max(self._tat.get(key, 0), now + delay_us)


class RateLimiter:
    """Reserves send slots for a key at a given rate (see the module docstring)."""

    def __init__(self, backend: Backend, *, safety_margin: float) -> None:
        """`safety_margin`: the fraction added to each slot's spacing (`Settings.rate_margin`),
        so that network jitter between the worker and the provider cannot squeeze limit + 1
        arrivals into one window at the provider: limit + 1 sends span (1 + margin) x the
        window, so a send may arrive up to margin x the window late before any window holds
        one too many."""
        if not 0 <= safety_margin < 1:
            raise ValueError(f"safety_margin must be in [0, 1), got {safety_margin}")
        self.backend = backend
        self.safety_margin = safety_margin

    def interval_us(self, per_minute: float) -> int:
        """Microseconds between two slots at this rate, margin included (at least 1)."""
        if per_minute <= 0:
            raise ValueError(f"rate must be positive, got {per_minute}")
        return max(1, round(60e6 / per_minute * (1 + self.safety_margin)))

    def reserve(self, key: str, *, per_minute: float, max_wait: float) -> float:
        """Reserve a slot and return the seconds to wait before using it.

        Raises:
            RateLimitExceeded: the next slot is more than max_wait away; nothing was reserved.
        """
        wait = self.backend.reserve(key, self.interval_us(per_minute), round(max_wait * 1e6))
        if wait < 0:
            raise RateLimitExceeded(key, (-wait - 1) / 1e6)
        return wait / 1e6

    def penalize(self, key: str, delay: float) -> None:
        """Slow the whole key down: no slot starts within `delay` seconds (after a 429)."""
        # a day at most: a Retry-After in the far future (or infinite) must not overflow
        self.backend.penalize(key, round(min(max(delay, 0.0), 86_400.0) * 1e6))
