"""How full Redis is, and whether a campaign fits.

The store grows with every campaign (every sent recipient keeps its message id and phone index
until the campaign is deleted or archived: README, "Data lifecycle"), and a Redis at
`maxmemory` with `noeviction` refuses every write. Sends
pause when that happens and go on when there is room again, but a campaign is better refused
at launch than stopped half way: launch checks the room first.
"""

from typing import NamedTuple

from broadcaster.errors import StoreFull

from .base import StoreBase

__all__ = ["BYTES_PER_RECIPIENT", "MemoryPart", "RedisMemory"]

#: What one recipient costs in Redis over its campaign's life: about 43 B once stored and
#: 260-270 B once sent, with its message id and phone indexed (README, "Redis layout";
#: `python bench/store_memory.py`). The budget, 300 B, is what launch counts.
BYTES_PER_RECIPIENT = 300


class RedisMemory(NamedTuple):
    """Redis's `used_memory` against its `maxmemory` (0: no limit), in bytes."""

    used: int
    limit: int

    @property
    def headroom(self) -> float | None:
        """The free share of `maxmemory` (0 when full), or None when Redis has no limit."""
        if not self.limit:
            return None
        return max(0.0, (self.limit - self.used) / self.limit)

    def room(self, min_headroom: float) -> int | None:
        """Bytes that may still be used while `min_headroom` of the limit stays free."""
        if not self.limit:
            return None
        return max(0, int(self.limit * (1 - min_headroom)) - self.used)


class MemoryPart(StoreBase):
    """Redis memory (a part of `CampaignStore`)."""

    def memory(self) -> RedisMemory:
        """Redis's memory now (`INFO memory`)."""
        info = self.redis.info("memory")
        return RedisMemory(int(info["used_memory"]), int(info.get("maxmemory", 0)))

    def check_room(self, recipients: int, *, min_headroom: float) -> None:
        """Raise StoreFull unless `recipients` more fit with `min_headroom` of `maxmemory` left
        free (counting BYTES_PER_RECIPIENT each). Always passes when Redis has no limit."""
        memory = self.memory()
        room = memory.room(min_headroom)
        if room is None or (recipients * BYTES_PER_RECIPIENT <= room and room > 0):
            return
        used, limit = _mb(memory.used), _mb(memory.limit)
        fits = room // BYTES_PER_RECIPIENT
        what = f"a campaign of {recipients:,} recipients" if recipients else "a new campaign"
        raise StoreFull(
            f"Redis has no room for {what}: {used} of its maxmemory {limit} used, "
            f"{min_headroom:.0%} kept free, so about {fits:,} more recipients fit "
            f"(~{BYTES_PER_RECIPIENT} B each); delete finished campaigns or raise Redis's "
            "maxmemory, then try again"
        )


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"
