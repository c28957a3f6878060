"""The limiter's state in Redis: one Lua step per reservation, on Redis's own clock.

Times are whole microseconds (Redis TIME's resolution): whole milliseconds would round the
spacing, 51.5 ms to 52 at 20 a second, and give away a share of the rate for nothing.
"""

from collections.abc import Sequence

import redis

from broadcaster.store import scripts

__all__ = ["RedisBackend"]

# KEYS: inner keys; ARGV: an interval per key, then the slot they were taken at. Gives each its
# slot back if nobody took a later one since.
_REFUND = """
local slot = tonumber(ARGV[#KEYS + 1])
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '-1') == slot + tonumber(ARGV[i]) then
    redis.call('SET', KEYS[i], string.format('%d', slot), 'KEEPTTL')
  end
end
return 0
"""

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


class RedisBackend:
    """The limiter's state in Redis; Redis's own clock is used, so hosts need not agree."""

    def __init__(self, client: "redis.Redis") -> None:
        # the same GCRA steps as the store's prepare.lua, which reserves a send's first slots
        self._reserve = scripts.load(client, "slot.lua")
        self._nested = scripts.load(client, "nested.lua")
        self._refund = client.register_script(_REFUND)
        self._penalize = client.register_script(_PENALIZE)

    def reserve(
        self, key: str, interval_us: int, max_wait_us: int, not_before_us: int = 0,
        guard: str | None = None,
    ) -> int:  # fmt: skip
        """See `limiter.Backend.reserve`."""
        keys = [key] if guard is None else [key, guard]
        return int(self._reserve(keys=keys, args=[interval_us, max_wait_us, not_before_us]))

    def reserve_nested(
        self, keys: Sequence[str], intervals_us: Sequence[int], max_wait_us: int, slack_us: int,
        lead_us: int = 0,
    ) -> tuple[int, int, int, int]:  # fmt: skip
        """See `limiter.Backend.reserve_nested`."""
        code, wait, slot, key = self._nested(
            keys=keys, args=[*intervals_us, max_wait_us, slack_us, lead_us]
        )
        return int(code), int(wait), int(slot), int(key) - 1

    def refund(self, keys: Sequence[str], intervals_us: Sequence[int], slot_us: int) -> None:
        """See `limiter.Backend.refund`."""
        if keys:
            self._refund(keys=keys, args=[*intervals_us, slot_us])

    def penalize(self, key: str, delay_us: int) -> None:
        """See `limiter.Backend.penalize`."""
        self._penalize(keys=[key], args=[delay_us])
