"""RateLimiter: reserves send slots, alone or nested (see the package docstring)."""

import dataclasses
from collections.abc import Sequence
from typing import Protocol

from broadcaster.errors import RateLimitExceeded

__all__ = ["Backend", "RateLimiter", "Reservation"]

#: How close to now the inner slot must be for the outer to be taken in the same step (s).
DEFAULT_SLACK = 0.002


class Backend(Protocol):
    """Storage of the limiter's state: atomic steps on timestamps in microseconds."""

    def reserve(
        self, key: str, interval_us: int, max_wait_us: int, not_before_us: int = 0,
        guard: str | None = None,
    ) -> int:  # fmt: skip
        """Reserve the next slot, none before `not_before_us` (the backend's clock); return µs
        to wait, or -(wait + 1) when beyond max_wait. With `guard` (a campaign's hash, Redis
        only), nothing is reserved and 0 returned unless the campaign runs."""

    def reserve_nested(
        self, keys: Sequence[str], intervals_us: Sequence[int], max_wait_us: int, slack_us: int,
        lead_us: int = 0,
    ) -> tuple[int, int, int, int]:  # fmt: skip
        """Reserve one common slot of the inner keys (all but the last), none sooner than
        `lead_us` from now, and, when that slot is within `slack_us` of it, the outer key's
        next slot too. Returns (code, wait µs, slot, index of the key that decided the wait):
        code 1 all reserved, 2 only the inner, -1 the inner refused, -2 the outer refused (the
        inner given back)."""

    def refund(self, keys: Sequence[str], intervals_us: Sequence[int], slot_us: int) -> None:
        """Give the inner keys their slot back, where nobody reserved a later one."""

    def penalize(self, key: str, delay_us: int) -> None:
        """Hold back every slot of this key for delay_us from now."""


@dataclasses.dataclass(frozen=True, slots=True)
class Reservation:
    """What `reserve_nested` got: seconds to wait and whether the outer slot is held too.

    When `complete` is false, only the inner limits are held (at `slot_us`): sleep `wait`,
    then reserve the outer key with `reserve`, or `refund` the inner if you give up.
    """

    wait: float
    complete: bool
    slot_us: int
    keys: tuple[str, ...]
    intervals_us: tuple[int, ...]
    binding: str  #: the key whose slot decided the wait


class RateLimiter:
    """Reserves send slots at given rates (see the package docstring).

    Args:
        backend: where the state lives (`RedisBackend`, or `MemoryBackend` in one process).
        safety_margin: the fraction added to each slot's spacing (`Settings.rate_margin`),
            so that jitter on the way to the provider cannot put one of its windows over the
            limit.
    """

    def __init__(self, backend: Backend, *, safety_margin: float) -> None:
        if not 0 <= safety_margin < 1:
            raise ValueError(f"safety_margin must be in [0, 1), got {safety_margin}")
        self.backend = backend
        self.safety_margin = safety_margin

    def interval_us(self, per_minute: float) -> int:
        """Microseconds between two slots at this rate, margin included (at least 1)."""
        if per_minute <= 0:
            raise ValueError(f"rate must be positive, got {per_minute}")
        return max(1, round(60e6 / per_minute * (1 + self.safety_margin)))

    def reserve(
        self, key: str, *, per_minute: float, max_wait: float, not_before_us: int = 0,
        guard: str | None = None,
    ) -> float:  # fmt: skip
        """Reserve a slot and return the seconds to wait before using it. `not_before_us`
        (the backend's clock, as `Reservation.slot_us`): no earlier slot is given, so the
        outer slot of a nested reservation can be asked for just before the inner one comes.
        `guard`: a campaign's hash; nothing is reserved (0 returned) unless the campaign runs.

        Raises:
            RateLimitExceeded: the next slot is more than max_wait away; nothing was reserved.
        """
        interval, max_wait_us = self.interval_us(per_minute), round(max_wait * 1e6)
        wait = self.backend.reserve(key, interval, max_wait_us, not_before_us, guard)
        if wait < 0:
            raise RateLimitExceeded(key, (-wait - 1) / 1e6)
        return wait / 1e6

    def reserve_nested(
        self,
        inner: Sequence[tuple[str, float]],
        outer: tuple[str, float],
        *,
        max_wait: float,
        slack: float = DEFAULT_SLACK,
    ) -> Reservation:
        """Reserve the inner limits' common slot and, if it is now, the outer's: one step.

        `inner` and `outer` are (key, sends per minute).

        Raises:
            RateLimitExceeded: a slot is more than max_wait away (its key says which limit);
                nothing was reserved.
        """
        keys = (*(key for key, _ in inner), outer[0])
        intervals = tuple(self.interval_us(rate) for _, rate in (*inner, outer))
        return self.reserve_intervals(keys, intervals, max_wait=max_wait, slack=slack)

    def reserve_intervals(
        self, keys: Sequence[str], intervals: Sequence[int], *, max_wait: float,
        slack: float = DEFAULT_SLACK, lead: float = 0.0,
    ) -> Reservation:  # fmt: skip
        """`reserve_nested` with the keys (innermost first) and their intervals in µs; no
        slot sooner than `lead` seconds after the backend's now."""
        keys, intervals = tuple(keys), tuple(intervals)
        code, wait, slot, binding = self.backend.reserve_nested(
            keys, intervals, round(max_wait * 1e6), round(slack * 1e6), round(lead * 1e6)
        )
        if code < 0:
            raise RateLimitExceeded(keys[binding], wait / 1e6)
        return Reservation(wait / 1e6, code == 1, slot, keys[:-1], intervals[:-1], keys[binding])

    def refund(self, reservation: Reservation) -> None:
        """Give back the inner slot of a reservation whose outer slot was not taken."""
        self.backend.refund(reservation.keys, reservation.intervals_us, reservation.slot_us)

    def penalize(self, key: str, delay: float) -> None:
        """Slow the whole key down: no slot starts within `delay` seconds (after a 429)."""
        # a day at most: a Retry-After in the far future (or infinite) must not overflow
        self.backend.penalize(key, round(min(max(delay, 0.0), 86_400.0) * 1e6))
