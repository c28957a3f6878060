"""CampaignStore: campaigns, recipients, statuses and counters in Redis.

Layout per campaign (keys in `keys.py`): a hash of fields; one status byte per recipient in a
string; attempts (u8) and last change time (u32) packed 5 bytes per recipient in another
string; recipients (phone plus the variables the message needs) and message ids in bucket
hashes of 100 that Redis keeps in its compact encoding; a sorted set of the recipients in
flight (the dispatch window), scored by a deadline; a requeue list; counters per status.

Every state change is one Lua script, so a recipient moves atomically and the counters always
add up to the total.
"""

import dataclasses
import hashlib
import importlib.resources
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

import redis

from .campaigns import Campaign, CampaignState, RecipientStatus
from .contacts import Contact
from .errors import CampaignNotFound, CampaignStateError
from .keys import BUCKET_SIZE, Keys

__all__ = ["CampaignStore", "Claim", "RecipientRow"]

logger = logging.getLogger(__name__)

#: Seconds a released recipient may sit in the broker before the ticker publishes it again.
DEFAULT_STALE_AFTER = 60.0
#: Recipients written per pipeline while importing.
DEFAULT_IMPORT_BATCH = 5_000
_SEP = "\x1f"


def _script(name: str) -> str:
    files = importlib.resources.files("broadcaster.lua")
    return files.joinpath("prelude.lua").read_text() + files.joinpath(name).read_text()


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


class CampaignStore:
    """Reads and writes campaigns in Redis. Every method is safe across processes and hosts.

    Args:
        redis: a `redis.Redis` client (bytes responses).
        keys: key builder with the deployment's prefix.
        clock: time source, seconds.
        stale_after: see DEFAULT_STALE_AFTER.
    """

    def __init__(
        self,
        redis: "redis.Redis",
        *,
        keys: Keys | None = None,
        clock: Callable[[], float] = time.time,
        stale_after: float = DEFAULT_STALE_AFTER,
    ) -> None:
        # redis-py types every reply as a union of its sync and async forms: Any is honest here.
        self.redis: Any = redis
        self.keys = keys or Keys()
        self.clock = clock
        self.stale_after = stale_after
        self._claim = self.redis.register_script(_script("claim.lua"))
        self._finish = self.redis.register_script(_script("finish.lua"))
        self._tick = self.redis.register_script(_script("tick.lua"))
        self._control = self.redis.register_script(_script("control.lua"))
        self._callback = self.redis.register_script(_script("callback.lua"))
        self._vars: dict[str, list[str]] = {}

    # creation and reading ---------------------------------------------------------------

    def create(self, campaign: Campaign, contacts: Iterable[Contact], *, window: int) -> Campaign:
        """Store a campaign and its recipients; it is listed only once every recipient is in.

        Returns the campaign with its `total` and `created_at` set.
        """
        k, cid, names = self.keys, campaign.id, campaign.variables
        total = 0
        try:
            pipe = self.redis.pipeline(transaction=False)
            buckets: dict[int, dict[str, str]] = {}
            for contact in contacts:
                bucket, field = divmod(total, BUCKET_SIZE)
                buckets.setdefault(bucket, {})[str(field)] = _pack(contact, names)
                total += 1
                if total % DEFAULT_IMPORT_BATCH == 0:
                    self._flush(pipe, cid, buckets)
            self._flush(pipe, cid, buckets)
        except BaseException:
            self.delete(cid)
            raise
        now = self.clock()
        summary = getattr(contacts, "summary", None)
        stored = dataclasses.replace(
            campaign,
            total=total,
            created_at=now,
            state=CampaignState.DRAFT,
            summary=summary.to_dict() if summary is not None else campaign.summary,
        )
        fields = stored.to_redis() | {"window": str(window), "cursor": "0"}
        pipe.hset(k.campaign(cid), mapping=fields)
        if total:
            pipe.setrange(k.status(cid), total - 1, "\x00")
            pipe.setrange(k.meta(cid), total * 5 - 1, "\x00")
        pipe.hset(
            k.counts(cid),
            mapping={s.label: 0 for s in RecipientStatus} | {"pending": total},
        )
        pipe.rpush(k.events(cid), json.dumps({"t": now, "event": "created", "total": total}))
        if total:  # an empty campaign is never listed (enqueue_broadcast refuses and deletes it)
            pipe.zadd(k.campaigns(), {cid: now})
        pipe.execute()
        return stored

    def _flush(self, pipe: Any, cid: str, buckets: dict[int, dict[str, str]]) -> None:
        for bucket, mapping in buckets.items():
            pipe.hset(self.keys.recipients(cid, bucket), mapping=mapping)
        pipe.execute()
        buckets.clear()

    def get(self, cid: str) -> Campaign:
        """The campaign, or CampaignNotFound."""
        data = self.redis.hgetall(self.keys.campaign(cid))
        if not data or b"total" not in data:
            raise CampaignNotFound(cid)
        return Campaign.from_redis(data)

    def state(self, cid: str) -> CampaignState:
        """The campaign's state alone (one cheap read)."""
        raw = self.redis.hget(self.keys.campaign(cid), "state")
        if raw is None:
            raise CampaignNotFound(cid)
        return CampaignState(raw.decode())

    def list_campaigns(self, *, limit: int = 50, offset: int = 0) -> list[Campaign]:
        """Campaigns, newest first."""
        ids = self.redis.zrevrange(self.keys.campaigns(), offset, offset + limit - 1)
        pipe = self.redis.pipeline(transaction=False)
        for cid in ids:
            pipe.hgetall(self.keys.campaign(cid.decode()))
        return [Campaign.from_redis(d) for d in pipe.execute() if d]

    def counts(self, cid: str) -> dict[str, int]:
        """Recipients per status label; they add up to the campaign's total."""
        raw = self.redis.hgetall(self.keys.counts(cid))
        return {s.label: int(raw.get(s.label.encode(), 0)) for s in RecipientStatus}

    def events(self, cid: str) -> list[dict[str, Any]]:
        """The campaign's event log, oldest first."""
        return [json.loads(e) for e in self.redis.lrange(self.keys.events(cid), 0, -1)]

    def delete(self, cid: str) -> None:
        """Remove a campaign and all its keys."""
        names = list(self.redis.scan_iter(match=self.keys.all_for(cid), count=1000))
        for i in range(0, len(names), 500):
            self.redis.delete(*names[i : i + 500])
        self.redis.zrem(self.keys.campaigns(), cid)
        self.redis.srem(self.keys.running(), cid)

    # the send path ------------------------------------------------------------------------

    def claim(self, cid: str, index: int, *, lease: float) -> Claim:
        """Take a queued recipient for sending (queued -> sending), at most once."""
        k, now = self.keys, self.clock()
        bucket, field = divmod(index, BUCKET_SIZE)
        keys = [
            *self._base_keys(cid),
            k.suppression(),
            k.recipients(cid, bucket),
            k.meta(cid),
        ]
        args: list[Any] = [cid, index, now, now + lease, field, self.stale_after]
        code, rec, attempts, released = self._claim(keys=keys, args=args)
        if code != 1:
            return Claim(code, "", {}, 0, list(released))
        phone, variables = self._unpack(cid, rec.decode())
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

        `message_id` goes into the index that delivery callbacks are matched by; `phone`
        (given for a sent message) into the index that replies are matched by.
        """
        k, now = self.keys, self.clock()
        bucket, field = divmod(index, BUCKET_SIZE)
        mid = message_id or ""
        keys = [
            *self._base_keys(cid),
            k.meta(cid),
            k.message_ids(cid, bucket),
            k.msgindex(mid),
            k.errors(cid),
            k.by_phone(phone or ""),
        ]
        args: list[Any] = [
            cid, index, int(status), now, "1" if attempted else "0", due, mid,
            f"{cid}:{index}", error or "", field, self.stale_after, _digest(mid), phone or "",
        ]  # fmt: skip
        ok, released = self._finish(keys=keys, args=args)
        if not ok:
            logger.info(
                "campaign %s recipient %d: outcome %s ignored (stale)",
                cid,
                index,
                status,
            )
        return [int(i) for i in released]

    def tick(self, cid: str, *, limit: int = 1000) -> list[int]:
        """Handle due deadlines of one running campaign; returns recipients to publish."""
        keys = [*self._base_keys(cid), self.keys.errors(cid)]
        out = self._tick(keys=keys, args=[cid, self.clock(), self.stale_after, limit])
        return [int(i) for i in out]

    def due_scheduled(self) -> list[str]:
        """Ids of scheduled campaigns whose start time has come."""
        ids = self.redis.zrangebyscore(self.keys.scheduled(), "-inf", self.clock())
        return [i.decode() for i in ids]

    def running_ids(self) -> list[str]:
        """Ids of running campaigns."""
        return sorted(i.decode() for i in self.redis.smembers(self.keys.running()))

    # lifecycle ----------------------------------------------------------------------------

    def start(self, cid: str) -> list[int]:
        """Start (or schedule, when send_at is ahead) a draft; returns recipients to publish."""
        return self._act(cid, "start")[0]

    def pause(self, cid: str, reason: str = "") -> None:
        """Stop releasing sends; queued ones go back to pending as workers meet them."""
        self._act(cid, "pause", reason)

    def resume(self, cid: str) -> list[int]:
        """Continue a paused campaign; returns recipients to publish."""
        return self._act(cid, "resume")[0]

    def cancel(self, cid: str) -> int:
        """Cancel every recipient not yet sent; returns how many were cancelled."""
        return self._act(cid, "cancel")[1]

    def requeue(self, cid: str, status: RecipientStatus) -> tuple[list[int], int]:
        """Put recipients in `status` (failed or unknown) back to pending.

        Returns the recipients to publish now and how many were requeued.
        """
        if status not in (RecipientStatus.FAILED, RecipientStatus.UNKNOWN):
            raise ValueError(f"only failed or unknown recipients can be requeued, not {status}")
        return self._act(cid, "requeue", str(int(status)))

    def _act(self, cid: str, action: str, extra: str = "") -> tuple[list[int], int]:
        keys = [*self._base_keys(cid), self.keys.scheduled()]
        args: list[Any] = [cid, action, self.clock(), self.stale_after, extra]
        result = self._control(keys=keys, args=args)
        if result[0] == b"err":
            message = result[1].decode()
            if message == "campaign not found":
                raise CampaignNotFound(cid)
            raise CampaignStateError(message)
        return [int(i) for i in result[1]], int(result[2])

    def _base_keys(self, cid: str) -> list[str]:
        k = self.keys
        return [
            k.campaign(cid), k.status(cid), k.active(cid), k.requeue(cid),
            k.counts(cid), k.running(), k.events(cid),
        ]  # fmt: skip

    def _unpack(self, cid: str, record: str) -> tuple[str, dict[str, str]]:
        phone, _, packed = record.partition(_SEP)
        if not packed:
            return phone, {}
        names = self._vars.get(cid)
        if names is None:
            names = self._vars[cid] = self.get(cid).variables
        return phone, dict(zip(names, json.loads(packed), strict=False))

    # delivery callbacks and replies --------------------------------------------------------

    def find_message(self, message_id: str) -> tuple[str, int] | None:
        """The campaign and recipient a Replai message id belongs to, if it is one of ours."""
        ref = self.redis.hget(self.keys.msgindex(message_id), _digest(message_id))
        return _ref(ref)

    def find_phone(self, phone: str) -> tuple[str, int] | None:
        """The campaign and recipient that last messaged this number."""
        return _ref(self.redis.hget(self.keys.by_phone(phone), phone))

    def webhook_call(
        self,
        digest: str,
        statuses: list[tuple[str, RecipientStatus, str]],
        replies: list[tuple[str, str, bool]],
        *,
        ttl: float = 86400.0,
    ) -> tuple[list[str], list[Any]]:
        """Keys and arguments of the one script that applies a webhook body.

        Args:
            digest: the body's digest, seen once per `ttl` seconds; "" applies without it.
            statuses: (message id, sent/delivered/read/failed, error or "") in order.
            replies: (phone, text, opted out) in order; an opted-out phone is suppressed.

        Run it with `apply_webhook`, or with `redis.asyncio` through `webhook_script`.
        """
        k = self.keys
        keys = [k.webhook_seen(digest), k.suppression()]
        args: list[Any] = [int(ttl) if digest else 0, self.clock(), len(statuses)]
        for build in (k.campaign, k.status, k.counts, k.meta, k.errors, k.replies):
            args.extend(build("\x00").split("\x00"))  # a template the script puts ids in
        for message_id, status, error in statuses:
            if status not in (S_SENT, S_DELIVERED, S_READ, S_FAILED):
                raise ValueError(f"not a delivery status: {status!r}")
            keys.append(k.msgindex(message_id))
            args += [_digest(message_id), int(status), error]
        for phone, text, stop in replies:
            keys.append(k.by_phone(phone))
            args += [phone, text[:500], "1" if stop else "0"]
        return keys, args

    @property
    def webhook_script(self) -> str:
        """The Lua source `webhook_call`'s keys and arguments are for."""
        return str(self._callback.script)

    def apply_webhook(
        self,
        digest: str,
        statuses: list[tuple[str, RecipientStatus, str]],
        replies: list[tuple[str, str, bool]],
        *,
        ttl: float = 86400.0,
    ) -> tuple[bool, int, int]:
        """Apply a webhook body atomically: see `webhook_call`.

        Returns (duplicate, statuses applied, replies matched to a recipient); statuses of
        unknown ids or going backwards are not applied, a duplicate body changes nothing.
        """
        keys, args = self.webhook_call(digest, statuses, replies, ttl=ttl)
        return self.webhook_result(self._callback(keys=keys, args=args))

    @staticmethod
    def webhook_result(raw: Any) -> tuple[bool, int, int]:
        """(duplicate, statuses applied, replies matched) from the webhook script's reply."""
        return bool(raw[0]), int(raw[1]), int(raw[2])

    # suppression list ---------------------------------------------------------------------

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

    # reports --------------------------------------------------------------------------------

    def iter_rows(self, cid: str, *, status: str | None = None) -> Iterator[RecipientRow]:
        """Every recipient in order (or those in one status), read in buckets."""
        campaign = self.get(cid)
        wanted = RecipientStatus[status.upper()] if status else None
        for start in range(0, campaign.total, BUCKET_SIZE * 10):
            yield from self._rows(
                cid, start, min(campaign.total, start + BUCKET_SIZE * 10), wanted
            )

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
            phone, variables = self._unpack(cid, record)
            off = (i - start) * 5
            attempts = meta[off] if off < len(meta) else 0
            ts = int.from_bytes(meta[off + 1 : off + 5], "big") if off + 5 <= len(meta) else 0
            yield RecipientRow(
                i, phone, RecipientStatus(code).label, attempts, ts or None,
                mid.decode() if mid else None, _opt(errors[i - start]), _opt(replies[i - start]),
                variables,
            )  # fmt: skip


def _pack(contact: Contact, names: list[str]) -> str:
    if not names:
        return contact.phone
    values = [contact.variables.get(n, "") for n in names]
    return contact.phone + _SEP + json.dumps(values, ensure_ascii=False, separators=(",", ":"))


S_SENT, S_DELIVERED, S_READ, S_FAILED = (
    RecipientStatus.SENT,
    RecipientStatus.DELIVERED,
    RecipientStatus.READ,
    RecipientStatus.FAILED,
)


def _digest(message_id: str) -> bytes:
    # 8 bytes instead of Meta's ~60-character ids: the index is the largest key per recipient
    return hashlib.blake2b(message_id.encode(), digest_size=8).digest() if message_id else b""


def _ref(value: bytes | None) -> tuple[str, int] | None:
    if not value:
        return None
    cid, _, index = value.decode().rpartition(":")
    return cid, int(index)


def _opt(value: bytes | None) -> str | None:
    return value.decode() if value else None
