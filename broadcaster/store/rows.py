"""Recipients as reports show them, read in buckets (never a whole campaign at once)."""

import dataclasses
from collections.abc import Iterator

from broadcaster.campaigns import RecipientStatus
from broadcaster.errors import CampaignNotFound
from broadcaster.keys import BUCKET_SIZE

from .base import ERASED, StoreBase

__all__ = ["RecipientRow", "RowReader"]

#: Recipients read per round trip.
DEFAULT_PAGE = BUCKET_SIZE * 10
_SEP = "\x1f"


@dataclasses.dataclass(frozen=True, slots=True)
class RecipientRow:
    """One recipient as reports show it."""

    index: int
    phone: str
    status: str
    attempts: int
    updated_at: int | None
    message_id: str | None
    error: str | None
    reply: str | None
    variables: dict[str, str]
    reply_at: int | None = None
    reply_kind: str | None = None


class RowReader(StoreBase):
    """Reading recipients back (a part of `CampaignStore`)."""

    def iter_rows(self, cid: str, *, status: str | None = None) -> Iterator[RecipientRow]:
        """Every recipient in order (or those in one status), read in buckets."""
        raw = self.redis.hget(self.keys.campaign(cid), "total")
        if raw is None:
            raise CampaignNotFound(cid)
        total = int(raw)
        wanted = RecipientStatus[status.upper()] if status else None
        for start in range(0, total, DEFAULT_PAGE):
            yield from self._rows(cid, start, min(total, start + DEFAULT_PAGE), wanted)

    def row(self, cid: str, index: int) -> RecipientRow:
        """One recipient."""
        return next(self._rows(cid, index, index + 1, None))

    def _rows(
        self, cid: str, start: int, stop: int, wanted: RecipientStatus | None
    ) -> Iterator[RecipientRow]:
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.getrange(k.status(cid), start, stop - 1)
        pipe.getrange(k.meta(cid), start * 5, stop * 5 - 1)
        buckets = range(start // BUCKET_SIZE, (stop - 1) // BUCKET_SIZE + 1)
        for b in buckets:
            pipe.hgetall(k.recipients(cid, b))
            pipe.hgetall(k.message_ids(cid, b))
        indexes = [str(i) for i in range(start, stop)]
        pipe.hmget(k.errors(cid), indexes)
        pipe.hmget(k.replies(cid), indexes)
        statuses, meta, *rest = pipe.execute()
        errors, replies = rest[-2], rest[-1]
        for i in range(start, stop):
            code = statuses[i - start] if i - start < len(statuses) else 0
            if wanted is not None and code != wanted:
                continue
            b, f = divmod(i, BUCKET_SIZE)
            pos = (b - buckets.start) * 2
            record = rest[pos].get(str(f).encode(), b"").decode()
            mid = rest[pos + 1].get(str(f).encode())
            phone, variables = self.unpack(cid, record)
            if phone.startswith(ERASED):
                phone = ""  # an erased number: its keyed hash is nobody's business
            off = (i - start) * 5
            attempts = meta[off] if off < len(meta) else 0
            ts = int.from_bytes(meta[off + 1 : off + 5], "big") if off + 5 <= len(meta) else 0
            reply, reply_at, kind = _reply(replies[i - start])
            yield RecipientRow(
                i, phone, RecipientStatus(code).label, attempts, ts or None,
                mid.decode() if mid else None, _text(errors[i - start]), reply, variables,
                reply_at, kind,
            )  # fmt: skip


def _text(value: bytes | None) -> str | None:
    return value.decode() if value else None


def _reply(value: bytes | None) -> tuple[str | None, int | None, str | None]:
    """(text, time, kind) of a stored reply, `"<time>\x1f<kind>\x1f<text>"` (receipts.lua);
    older stores kept the text alone."""
    if not value:
        return None, None, None
    text = value.decode()
    parts = text.split(_SEP, 2)
    if len(parts) == 3 and parts[0].isdigit():
        return parts[2], int(parts[0]), parts[1]
    return text, None, None
