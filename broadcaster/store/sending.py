"""The send path in the store: claim a recipient before its send, record the outcome after.

Both are one Lua script each (claim.lua, finish.lua), so a recipient is sent at most once
however often its task is delivered, and every counter moves with its status.
"""

import logging
from typing import Any, NamedTuple

from broadcaster.campaigns import RecipientStatus
from broadcaster.keys import BUCKET_SIZE

from .base import StoreBase, digest

__all__ = ["Claim", "SendPath"]

logger = logging.getLogger(__name__)


class Claim(NamedTuple):
    """What `CampaignStore.claim` found."""

    code: int  # 1 claimed, 0 stale delivery, 2 put back (paused), 3 cancelled, 4 suppressed
    phone: str
    variables: dict[str, str]
    attempts: int
    released: list[int]

    @property
    def ok(self) -> bool:
        """True when this worker now owns the send."""
        return self.code == 1


class SendPath(StoreBase):
    """Claims and outcomes (a part of `CampaignStore`)."""

    def claim(self, cid: str, index: int, *, lease: float) -> Claim:
        """Take a queued recipient for sending (queued -> sending), at most once."""
        k, now = self.keys, self.clock()
        bucket, field = divmod(index, BUCKET_SIZE)
        keys = [*self.base_keys(cid), k.suppression(), k.recipients(cid, bucket), k.meta(cid)]
        args: list[Any] = [cid, index, now, now + lease, field, self.stale_after]
        code, rec, attempts, released = self.script("claim.lua")(keys=keys, args=args)
        if code != 1:
            return Claim(code, "", {}, 0, list(released))
        phone, variables = self.unpack(cid, rec.decode())
        return Claim(1, phone, variables, int(attempts), [])

    def finish(
        self,
        cid: str,
        index: int,
        status: RecipientStatus,
        *,
        attempted: bool = True,
        due: float = 0.0,
        message_id: str | None = None,
        error: str | None = None,
        phone: str | None = None,
    ) -> list[int]:
        """Record a send's outcome; returns recipients released to keep the window full.

        `attempted` says the request reached (or may have reached) Replai: it counts an
        attempt and a send in the current rate. `message_id` goes into the index that
        delivery callbacks are matched by (callbacks that came for it before are applied
        now); `phone` (given for a sent message) into the index that replies are matched by.
        """
        k, now = self.keys, self.clock()
        bucket, field = divmod(index, BUCKET_SIZE)
        mid = message_id or ""
        keys = [
            *self.base_keys(cid), k.meta(cid), k.message_ids(cid, bucket), k.msgindex(mid),
            k.errors(cid), k.by_phone(phone or ""), k.recent(cid),
        ]  # fmt: skip
        keys += [  # callbacks held for this message id are applied in the same step
            k.replies(cid), k.suppression(), k.resumes(), k.held(), k.held_since(),
            k.webhook_stats(),
        ]  # fmt: skip
        args: list[Any] = [
            cid, index, int(status), now, "1" if attempted else "0", due, mid,
            f"{cid}:{index}", error or "", field, self.stale_after, digest(mid), phone or "",
        ]  # fmt: skip
        ok, released = self.script("finish.lua")(keys=keys, args=args)
        if not ok:
            logger.info("campaign %s recipient %d: outcome %s ignored (stale)", cid, index, status)
        return [int(i) for i in released]
