"""The suppression list: numbers that are never messaged, with how and when each got there.

One hash, WhatsApp key -> `"<source> <unix time>"` (`optouts.OptOutSource`). The claim checks
it before every send (HEXISTS), so running campaigns skip a number the moment it is listed;
imports read its keys. Webhooks write it in their Lua step (receipts.lua): a person's own
opt-out (keyword, button) and an operator's outrank one Meta's setting made (user_preferences,
failed_131050), and only those last a `user_preferences` resume lifts, when it is newer.
"""

import dataclasses
import logging
from collections.abc import Iterable, Iterator

from broadcaster.optouts import LIFTED_BY_RESUME, OptOutSource

from .base import StoreBase

__all__ = ["SuppressionEntry", "SuppressionList"]

logger = logging.getLogger(__name__)

#: Numbers read or written per command when migrating or listing.
_BATCH = 5_000


@dataclasses.dataclass(frozen=True, slots=True)
class SuppressionEntry:
    """One suppressed number: how it got on the list and when (Unix seconds; 0 unknown)."""

    phone: str
    source: str
    at: int

    @classmethod
    def parse(cls, phone: bytes, value: bytes) -> "SuppressionEntry":
        """From the hash's field and value."""
        source, _, at = value.decode().partition(" ")
        return cls(phone.decode(), source, int(at or 0))


class SuppressionList(StoreBase):
    """The deployment's suppression list (a part of `CampaignStore`)."""

    def suppressed(self) -> set[str]:
        """Every suppressed number (WhatsApp keys, E.164 digits)."""
        return {p.decode() for p in self.redis.hkeys(self.keys.suppression())}

    def suppression_entries(self) -> list[SuppressionEntry]:
        """Every suppressed number with its source and time, sorted by number."""
        found = self._scan()
        return sorted(found, key=lambda e: e.phone)

    def _scan(self) -> Iterator[SuppressionEntry]:
        for phone, value in self.redis.hscan_iter(self.keys.suppression(), count=_BATCH):
            yield SuppressionEntry.parse(phone, value)

    def is_suppressed(self, phone: str) -> bool:
        """True when the number must not be messaged."""
        return bool(self.redis.hexists(self.keys.suppression(), phone))

    def suppress(
        self, phones: Iterable[str], *, source: OptOutSource = OptOutSource.MANUAL
    ) -> int:
        """Add numbers (an operator's: `manual` or `import`); pending recipients with them
        are skipped when their turn comes. A number listed by the person keeps its entry;
        one listed by Meta's setting becomes the operator's (a resume no longer lifts it).

        Returns how many were not listed before.
        """
        phones = list(dict.fromkeys(phones))
        if not phones:
            return 0
        key, value = self.keys.suppression(), f"{source} {int(self.clock())}"
        current = self.redis.hmget(key, phones)
        replace = {
            phone: value
            for phone, entry in zip(phones, current, strict=True)
            if entry is None or entry.decode().partition(" ")[0] in LIFTED_BY_RESUME
        }
        if replace:
            self.redis.hset(key, mapping=replace)
        return sum(entry is None for entry in current)

    def unsuppress(self, phones: Iterable[str]) -> int:
        """Remove numbers from the suppression list, whatever put them there."""
        phones = list(phones)
        return int(self.redis.hdel(self.keys.suppression(), *phones)) if phones else 0

    def migrate_suppression(self) -> int:
        """Move the suppression list of older versions (a set of numbers) into the hash, as
        source `legacy`, time 0. Idempotent and safe to run from several processes at once;
        returns how many numbers it added."""
        legacy = self.keys.legacy_suppression()
        if not self.redis.exists(legacy):
            return 0
        added, batch = 0, []
        for phone in self.redis.sscan_iter(legacy, count=_BATCH):
            batch.append(phone)
            if len(batch) >= _BATCH:
                added += self._add_legacy(batch)
                batch = []
        added += self._add_legacy(batch)
        self.redis.delete(legacy)
        logger.info("suppression list: %d numbers moved from the older set", added)
        return added

    def _add_legacy(self, phones: list[bytes]) -> int:
        pipe = self.redis.pipeline(transaction=False)
        for phone in phones:
            pipe.hsetnx(self.keys.suppression(), phone, f"{OptOutSource.LEGACY} 0")
        return sum(pipe.execute())
