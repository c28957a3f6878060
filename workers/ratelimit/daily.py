"""The daily cap of unique recipients per sender (Meta's messaging tiers)."""

import redis

__all__ = ["DailyCap"]

_ADMIT = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], 172800)
return 1
"""


class DailyCap:
    """At most `cap` unique recipients per sender per UTC day (Meta's messaging tiers).

    A recipient already reached today is always admitted; a new one only while the day's set
    is below the cap. The set lives in Redis, so the cap holds across every worker.
    """

    def __init__(self, client: "redis.Redis", *, cap: int) -> None:
        if cap < 0:
            raise ValueError(f"daily cap must be >= 0, got {cap}")
        self.cap = cap
        self._admit = client.register_script(_ADMIT)

    def admit(self, key: str, phone: str) -> bool:
        """True when `phone` may be messaged today under `key` (a per-sender, per-day key)."""
        if self.cap == 0:
            return True
        return bool(self._admit(keys=[key], args=[phone, self.cap]))
