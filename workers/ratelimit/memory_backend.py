"""The limiter's state in this process only: for tests and single-process use."""

import threading
import time
from collections.abc import Callable, Sequence

__all__ = ["MemoryBackend"]


class MemoryBackend:
    """The same steps as `RedisBackend`, on a dict and a lock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tat: dict[str, int] = {}
        self._lock = threading.Lock()

    def _now(self) -> int:
        return round(self.clock() * 1e6)

    def reserve(
        self, key: str, interval_us: int, max_wait_us: int, not_before_us: int = 0,
        guard: str | None = None,
    ) -> int:  # fmt: skip
        """See `limiter.Backend.reserve`."""
        now = self._now()
        with self._lock:
            tat = max(self._tat.get(key, 0), now, not_before_us)
            wait = tat - now
            if wait > max_wait_us:
                return -wait - 1
            self._tat[key] = tat + interval_us
            return wait

    def reserve_nested(
        self, keys: Sequence[str], intervals_us: Sequence[int], max_wait_us: int, slack_us: int,
        lead_us: int = 0,
    ) -> tuple[int, int, int, int]:  # fmt: skip
        """See `limiter.Backend.reserve_nested`."""
        now, *inner, outer = self._now(), *keys
        with self._lock:
            old = {key: self._tat.get(key) for key in inner}
            slot, binding = now + lead_us, len(keys) - 1
            for i, tat in enumerate(old.values()):
                if (tat or 0) > slot:
                    slot, binding = tat or 0, i
            if slot - now > max_wait_us:
                return -1, slot - now, 0, binding
            for key, interval in zip(inner, intervals_us, strict=False):
                self._tat[key] = slot + interval
            if slot - now > slack_us + lead_us:
                return 2, slot - now, slot, binding
            tat = max(self._tat.get(outer, 0), slot)
            if tat - now > max_wait_us:
                for key, value in old.items():
                    if value is None:
                        self._tat.pop(key, None)
                    else:
                        self._tat[key] = value
                return -2, tat - now, 0, len(keys) - 1
            self._tat[outer] = tat + intervals_us[-1]
            return 1, tat - now, slot, len(keys) - 1

    def refund(self, keys: Sequence[str], intervals_us: Sequence[int], slot_us: int) -> None:
        """See `limiter.Backend.refund`."""
        with self._lock:
            for key, interval in zip(keys, intervals_us, strict=True):
                if self._tat.get(key) == slot_us + interval:
                    self._tat[key] = slot_us

    def penalize(self, key: str, delay_us: int) -> None:
        """See `limiter.Backend.penalize`."""
        now = self._now()
        with self._lock:
            self._tat[key] = max(self._tat.get(key, 0), now + delay_us)
