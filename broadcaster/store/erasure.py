"""Erasing a number: its recipient records, replies and index entries leave Redis, and its
suppression entry becomes a keyed hash that still blocks it.

An erased number is replaced, wherever the store kept it, by `#` and the first 32 hex digits
of its HMAC-SHA256 under `Settings.erasure_secret` (`keyed`): its recipient records hold only
that, and the suppression list holds that instead of the number. The send path checks the
suppression list by a record's number (prepare.lua, claim.lua), so an erased recipient still
queued is skipped; an import checks every number against both the numbers and their keyed
forms (`blocked`), so an erased number is refused at the next import. Without the secret the
hash cannot be recomputed: the number is not readable from Redis.
"""

import hashlib
import hmac
from collections.abc import Iterator

from broadcaster.errors import ConfigurationError
from broadcaster.keys import BUCKET_SIZE
from broadcaster.optouts import OptOutSource

from .base import ERASED, StoreBase, digest

__all__ = ["BlockedNumbers", "Erasure"]

#: Recipient buckets read per round trip while looking for a number.
_SCAN_BUCKETS = 20
_SEP = "\x1f"


class BlockedNumbers:
    """The numbers an import must refuse: listed ones, and erased ones by their keyed hash."""

    __slots__ = ("_keyed", "_plain", "_secret")

    def __init__(self, plain: set[str], keyed: set[str], secret: bytes | None) -> None:
        self._plain, self._keyed, self._secret = plain, keyed, secret

    def __contains__(self, phone: object) -> bool:
        if phone in self._plain:
            return True
        if not self._keyed or self._secret is None or not isinstance(phone, str):
            return False
        return keyed_number(self._secret, phone) in self._keyed


def keyed_number(secret: bytes, phone: str) -> str:
    """What stands for an erased number: `#` and 32 hex digits of its HMAC-SHA256."""
    return ERASED + hmac.new(secret, phone.encode(), hashlib.sha256).hexdigest()[:32]


class Erasure(StoreBase):
    """Finding and erasing a number (a part of `CampaignStore`)."""

    def keyed(self, phone: str) -> str:
        """The keyed hash of a number (needs `Settings.erasure_secret`)."""
        if not self.erasure_secret:
            raise ConfigurationError(
                "erasing a number needs BROADCASTER_ERASURE_SECRET (a long random value, kept "
                "secret and never changed): it keys the hash that keeps an erased number blocked"
            )
        return keyed_number(self.erasure_secret, phone)

    def blocked(self) -> BlockedNumbers:
        """Every number an import refuses: suppressed, or erased (by keyed hash)."""
        fields = [f.decode() for f in self.redis.hkeys(self.keys.suppression())]
        plain = {f for f in fields if not f.startswith(ERASED)}
        return BlockedNumbers(plain, set(fields) - plain, self.erasure_secret)

    def find_recipients(self, phones: set[str]) -> Iterator[tuple[str, int, str]]:
        """(campaign id, index, number) of every recipient with one of `phones`, in the
        campaigns whose recipients are in Redis (not archived), read in buckets."""
        for raw in self.redis.zrange(self.keys.campaigns(), 0, -1):
            cid = raw.decode()
            total, archive = self.redis.hmget(self.keys.campaign(cid), "total", "archive")
            if total is None or archive:
                continue
            buckets = -(-int(total) // BUCKET_SIZE)
            for first in range(0, buckets, _SCAN_BUCKETS):
                stop = min(buckets, first + _SCAN_BUCKETS)
                yield from self._find(cid, range(first, stop), phones)

    def _find(self, cid: str, buckets: range, phones: set[str]) -> Iterator[tuple[str, int, str]]:
        pipe = self.redis.pipeline(transaction=False)
        for b in buckets:
            pipe.hgetall(self.keys.recipients(cid, b))
        for b, records in zip(buckets, pipe.execute(), strict=True):
            for field, record in records.items():
                phone = record.decode().partition(_SEP)[0]
                if phone in phones:
                    yield cid, b * BUCKET_SIZE + int(field), phone

    def erase_recipient(self, cid: str, index: int, phone: str) -> None:
        """Replace a recipient's record by the number's keyed hash; drop its message id, reply
        and index entries (one transaction)."""
        k, keyed = self.keys, self.keyed(phone)
        bucket, field = divmod(index, BUCKET_SIZE)
        mid = self.redis.hget(k.message_ids(cid, bucket), field)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(k.recipients(cid, bucket), field, keyed)
        pipe.hdel(k.message_ids(cid, bucket), field)
        pipe.hdel(k.replies(cid), index)
        if mid:
            pipe.hdel(k.msgindex(mid.decode()), digest(mid.decode()))
        pipe.execute()

    def erase_number(self, phone: str) -> str | None:
        """Drop a number from the global lists: the phone index, resumes, daily caps; its
        suppression entry (or a new one, `erased`) becomes its keyed hash. Returns the source
        it was suppressed by before, if any."""
        k, keyed = self.keys, self.keyed(phone)
        entry = self.redis.hget(k.suppression(), phone)
        value = entry.decode() if entry else f"{OptOutSource.ERASED} {int(self.clock())}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(k.suppression(), phone)
        pipe.hset(k.suppression(), keyed, value)
        pipe.hdel(k.by_phone(phone), phone)
        pipe.hdel(k.resumes(), phone)
        for name in self.redis.scan_iter(match=k.daily("*", "*"), count=1000):
            pipe.srem(name, phone)
        pipe.execute()
        return entry.decode().partition(" ")[0] if entry else None

    def daily_sets(self, phone: str) -> list[str]:
        """The daily-cap sets (sender and day) the number is in."""
        found = []
        for name in self.redis.scan_iter(match=self.keys.daily("*", "*"), count=1000):
            if self.redis.sismember(name, phone):
                found.append(name.decode())
        return found
