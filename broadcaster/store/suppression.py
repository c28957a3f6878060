"""The suppression list: numbers that are never messaged (opt-outs land here)."""

from collections.abc import Iterable

from .base import StoreBase

__all__ = ["SuppressionList"]


class SuppressionList(StoreBase):
    """The deployment's suppression list (a part of `CampaignStore`)."""

    def suppressed(self) -> set[str]:
        """Every suppressed number (E.164 digits)."""
        return {p.decode() for p in self.redis.smembers(self.keys.suppression())}

    def is_suppressed(self, phone: str) -> bool:
        """True when the number must not be messaged."""
        return bool(self.redis.sismember(self.keys.suppression(), phone))

    def suppress(self, phones: Iterable[str]) -> int:
        """Add numbers; pending recipients with them are skipped when their turn comes."""
        phones = list(phones)
        return int(self.redis.sadd(self.keys.suppression(), *phones)) if phones else 0

    def unsuppress(self, phones: Iterable[str]) -> int:
        """Remove numbers from the suppression list."""
        phones = list(phones)
        return int(self.redis.srem(self.keys.suppression(), *phones)) if phones else 0
