"""What every part of the store shares: the Redis client, the keys, the clock, the scripts,
and the packing of recipient records."""

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from broadcaster.campaigns import Campaign
from broadcaster.contacts import Contact
from broadcaster.keys import Keys

from . import scripts

__all__ = ["ERASED", "StoreBase", "digest", "pack", "parse_ref"]

#: Separates a recipient's phone from its packed variables.
_SEP = "\x1f"
#: Starts what stands for an erased number (its keyed hash, `erasure`) in a recipient record
#: and on the suppression list.
ERASED = "#"


class StoreBase:
    """The state the store's parts share (see `CampaignStore`).

    Args:
        redis: a `redis.Redis` client (bytes responses).
        keys: key builder with the deployment's prefix.
        stale_after: seconds a released recipient may sit in the broker before it is
            published again (`Settings.stale_after`).
        clock: time source, seconds.
        erasure_secret: key of the HMAC that stands for an erased number (`erasure`).
    """

    def __init__(
        self,
        redis: Any,
        *,
        keys: Keys,
        stale_after: float,
        clock: Callable[[], float] = time.time,
        erasure_secret: bytes | None = None,
    ) -> None:
        if stale_after <= 0:
            raise ValueError(f"stale_after must be positive, got {stale_after}")
        # redis-py types every reply as a union of its sync and async forms: Any is honest here.
        self.redis: Any = redis
        self.keys = keys
        self.clock = clock
        self.stale_after = stale_after
        self.erasure_secret = erasure_secret
        self._scripts: dict[str, Any] = {}
        self._vars: dict[str, list[str]] = {}

    def script(self, name: str) -> Any:
        """The registered Lua script `name` (e.g. "claim.lua")."""
        found = self._scripts.get(name)
        if found is None:
            found = self._scripts[name] = scripts.load(self.redis, name)
        return found

    def inline_script(self, name: str, source: str) -> Any:
        """A short Lua script kept in its module (not in broadcaster/lua/), registered once."""
        found = self._scripts.get(name)
        if found is None:
            found = self._scripts[name] = self.redis.register_script(source)
        return found

    def delete(self, cid: str) -> None:
        """Remove a campaign and all its keys (`deletion.Removing` implements it)."""
        raise NotImplementedError

    def base_keys(self, cid: str) -> list[str]:
        """The keys every campaign script starts with (`K` in prelude.lua)."""
        k = self.keys
        return [
            k.campaign(cid), k.status(cid), k.active(cid), k.requeue(cid),
            k.counts(cid), k.running(), k.events(cid), k.parked(cid),
        ]  # fmt: skip

    def variable_names(self, cid: str) -> list[str]:
        """The columns a campaign's message uses, in the order records pack them (cached)."""
        names = self._vars.get(cid)
        if names is None:
            data = self.redis.hgetall(self.keys.campaign(cid))
            names = self._vars[cid] = Campaign.from_redis(data).variables if data else []
        return names

    def unpack(self, cid: str, record: str) -> tuple[str, dict[str, str]]:
        """(phone, variables) of a stored recipient record."""
        phone, _, packed = record.partition(_SEP)
        if not packed:
            return phone, {}
        return phone, dict(zip(self.variable_names(cid), json.loads(packed), strict=False))


def pack(contact: Contact, names: list[str]) -> str:
    """A recipient record: the phone, then only the variables the message uses."""
    if not names:
        return contact.phone
    values = [contact.variables.get(n, "") for n in names]
    return contact.phone + _SEP + json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def digest(message_id: str) -> bytes:
    """8 bytes for a Replai message id (Meta's are ~60 characters): the index's field."""
    return hashlib.blake2b(message_id.encode(), digest_size=8).digest() if message_id else b""


def parse_ref(value: bytes | None) -> tuple[str, int] | None:
    """`campaign_id:index` from an index entry, as a tuple."""
    if not value:
        return None
    cid, _, index = value.decode().rpartition(":")
    return cid, int(index)
