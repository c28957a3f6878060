"""A sender pool's state in Redis (`broadcaster.pools`): each recipient's sender, one byte per
recipient indexing `Campaign.pool()` (`keys.senders`, written at import), and the senders
taken out of the campaign with their reason (`keys.senders_out`).

A recipient whose sender is out is moved when it comes up to send (`reassign`): rendezvous
over the senders still in, so each of the others takes its share, and its byte is rewritten.
"""

import collections
import dataclasses
import json
from collections.abc import Sequence

from broadcaster.campaigns import OPEN_STATUSES, RecipientStatus

from .base import StoreBase

__all__ = ["SENT_STATUSES", "PoolState", "SenderShare"]

#: The statuses of a recipient its sender has sent to.
SENT_STATUSES = bytes([RecipientStatus.SENT, RecipientStatus.DELIVERED, RecipientStatus.READ])


@dataclasses.dataclass(frozen=True, slots=True)
class SenderShare:
    """One sender's share of a pool campaign.

    `remaining` counts the recipients not finished that are assigned to it now; those of a
    sender taken out (`out` says why) move to the others when they come up to send.
    """

    sender: str
    sent: int
    remaining: int
    out: str | None = None

    @property
    def state(self) -> str:
        """`out`, `done` (nothing left for it) or `sending`."""
        if self.out is not None:
            return "out"
        return "sending" if self.remaining else "done"


class PoolState(StoreBase):
    """Per-recipient senders and the senders taken out of a pool campaign."""

    def sender_of(self, cid: str, index: int) -> tuple[int | None, dict[str, str]]:
        """Recipient `index`'s sender number (None: none stored) and the senders out."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.getrange(k.senders(cid), index, index)
        pipe.hgetall(k.senders_out(cid))
        raw, out = pipe.execute()
        return (raw[0] if raw else None), {_s(a): _s(b) for a, b in out.items()}

    def reassign(self, cid: str, index: int, number: int) -> None:
        """Give recipient `index` the pool's sender `number`."""
        self.redis.setrange(self.keys.senders(cid), index, bytes([number]))

    def take_out(self, cid: str, sender: str, reason: str) -> dict[str, str]:
        """Take `sender` out of the campaign's pool (once; logged as an event); returns
        every sender out."""
        k = self.keys
        if self.redis.hsetnx(k.senders_out(cid), sender, reason):
            event = {"t": self.clock(), "event": "sender_out", "sender": sender, "reason": reason}
            self.redis.rpush(k.events(cid), json.dumps(event))
        return self.senders_out(cid)

    def senders_out(self, cid: str) -> dict[str, str]:
        """The senders taken out of the campaign's pool, with their reason."""
        out = self.redis.hgetall(self.keys.senders_out(cid))
        return {_s(a): _s(b) for a, b in out.items()}

    def bring_back(self, cid: str) -> None:
        """Put every sender back in the pool (the campaign paused for them all)."""
        self.redis.delete(self.keys.senders_out(cid))

    def sent_per_sender(self, cid: str, pool: Sequence[str]) -> dict[str, int]:
        """How many recipients each sender of the pool has sent to (sent, delivered, read)."""
        statuses = self.redis.get(self.keys.status(cid)) or b""
        if len(pool) < 2:
            return {pool[0]: sum(statuses.count(s) for s in SENT_STATUSES)} if pool else {}
        senders = self.redis.get(self.keys.senders(cid)) or b""
        counts = [0] * len(pool)
        for status, sender in zip(statuses, senders, strict=False):
            if status in SENT_STATUSES and sender < len(pool):
                counts[sender] += 1
        return dict(zip(pool, counts, strict=True))

    def pool_shares(self, cid: str, pool: Sequence[str]) -> list[SenderShare]:
        """Each sender of the pool's share: sent, not finished yet, and why it is out."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(k.status(cid))
        pipe.get(k.senders(cid))
        pipe.hgetall(k.senders_out(cid))
        statuses, senders, raw_out = pipe.execute()
        out = {_s(a): _s(b) for a, b in raw_out.items()}
        # one pass in C over (status, sender) byte pairs, however many recipients
        pairs = collections.Counter(zip(statuses or b"", senders or b"", strict=False))
        sent, remaining = [0] * len(pool), [0] * len(pool)
        for (status, sender), n in pairs.items():
            if sender < len(pool):
                if status in SENT_STATUSES:
                    sent[sender] += n
                elif status in _OPEN:
                    remaining[sender] += n
        return [
            SenderShare(name, sent[i], remaining[i], out.get(name)) for i, name in enumerate(pool)
        ]


_OPEN = frozenset(int(s) for s in OPEN_STATUSES)


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
