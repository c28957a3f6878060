"""The send path in the store: prepare a recipient, claim it, record the outcome.

Each step is one Lua script, so a recipient is sent at most once however often its task is
delivered, and every counter moves with its status:

1. `prepare` (prepare.lua): still queued, campaign running, number not suppressed, daily cap?
   Then reserve the send's nested rate-limit slots (campaign, sender, account). Nothing is
   held: whatever happens next (the worker waits for the slot, dies, Redis stops answering),
   the recipient is still queued.
2. `claim` (claim.lua), once the slot has come and the message is ready: queued -> sending
   under a lease. Nothing that can wait or fail stands between a claim and its request, so
   `unknown` (a claim whose lease ran out) means "the request may have left".
3. `finish` (finish.lua): the outcome; or `give_back` (release.lua) when the claim call
   failed, so the worker does not know whether it applied.
"""

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

from broadcaster.campaigns import RecipientStatus
from broadcaster.keys import BUCKET_SIZE

from .base import StoreBase, digest

__all__ = ["Claim", "DailyLimit", "Hours", "SendPath", "Slot", "Ticket"]

logger = logging.getLogger(__name__)


class Slot(NamedTuple):
    """The rate-limit slots a send needs, for `prepare` to reserve (GCRA, nested, as
    workers/ratelimit): the keys innermost first, the outer one (the account's) last."""

    keys: tuple[str, ...]
    #: Microseconds between two slots, per key.
    intervals_us: tuple[int, ...]
    #: Seconds: a slot further away is not reserved; the recipient is paced instead.
    max_wait: float
    #: Seconds: how close the inner slot must be for the outer to be taken in the same step.
    slack: float = 0.002
    #: The account's fair-sharing keys (campaigns active on it, their own rates), when one
    #: of `keys` is the campaign's share of the account (its interval 0: prepare.lua finds it).
    sharing: tuple[str, str] | None = None
    #: Seconds a campaign counts as active on its account after its last prepared send, at
    #: least (more when the shares' intervals are longer: fair_interval in prelude.lua).
    share_ttl: float = 0.25
    #: The interval of the campaign's own rate (0: none), for the other campaigns' shares.
    own_interval_us: int = 0
    #: Seconds after Redis's now before which no slot is given: half the worker's round trip
    #: to Redis (`workers.pacing.RoundTrips`), the time its answer takes to come back.
    lead: float = 0.0

    @classmethod
    def single(cls, key: str, interval_us: int, max_wait: float) -> "Slot":
        """One limit alone."""
        return cls((key,), (interval_us,), max_wait)

    @property
    def key(self) -> str:
        """The outer limit's key (the account's)."""
        return self.keys[-1]


class DailyLimit(NamedTuple):
    """A sender's cap of unique recipients per UTC day, for `prepare` to apply."""

    key: str
    cap: int
    #: When a recipient over the cap is due again (the next UTC midnight).
    due: float


class Hours(NamedTuple):
    """A campaign's sending hours as a worker read its calendar (`sendhours.hours_now`), for
    `prepare` to keep each recipient inside its own."""

    #: Per timezone number + 1, `closes,reopens` (seconds since the epoch; closes 0: closed
    #: now), separated by `;`.
    windows: str
    #: When every timezone of the campaign is closed: the first reopening; else 0.
    closed_until: float
    #: A send starts no later than this many seconds before its hours end.
    margin: float


class Ticket(NamedTuple):
    """What `prepare` found."""

    #: 1 ready; 0 not queued (a stale delivery); 2 put back (paused); 3 cancelled;
    #: 4 skipped (suppressed); 5 paced (no slot within reach, or the daily cap); 6 off hours
    #: (outside its sending hours: waits for the next opening); 7 expired.
    code: int
    #: Seconds until the reserved slot (ready), or until the recipient is due (paced).
    wait: float
    phone: str
    variables: dict[str, str]
    attempts: int
    released: list[int]
    #: False when only the inner limits' slot is held (at `slot_us`, Redis's clock): the
    #: outer one (the account's) is reserved once that slot has come.
    complete: bool = True
    slot_us: int = 0
    #: The index in `Slot.keys` of the limit that decided the wait (or refused).
    binding: int = 0
    #: The interval of the campaign's fair share of its account (0: not asked for).
    share_us: int = 0

    @property
    def ok(self) -> bool:
        """True when the recipient may be claimed once its slot comes."""
        return self.code == 1


class Claim(NamedTuple):
    """What `claim` found."""

    #: 1 claimed; 0 not queued; 2 put back (paused); 3 cancelled; 4 skipped (suppressed);
    #: 5 expired; 6 late (refused: the worker was late and its limits busy).
    code: int
    #: The lease deadline that names this claim (`finish` and `give_back` need it).
    lease_until: float
    released: list[int]
    #: True when the claim took fresh slots of the send's limits (all idle) at its own time.
    fresh: bool = False

    @property
    def ok(self) -> bool:
        """True when this worker now owns the send."""
        return self.code == 1


class SendPath(StoreBase):
    """Preparing, claiming and recording sends (a part of `CampaignStore`)."""

    def prepare(
        self,
        cid: str,
        index: int,
        *,
        slot: Slot | None = None,
        daily: DailyLimit | None = None,
        hours: Hours | None = None,
    ) -> Ticket:
        """Check a queued recipient and reserve its rate-limit slots; nothing is claimed.

        With `hours`, a recipient outside its sending hours waits (off_hours) for its next
        opening; past the campaign's expires_at it ends expired.
        """
        keys, args = self._prepare_call(cid, index, slot, daily, hours)
        return self._ticket(cid, self.script("prepare.lua")(keys=keys, args=args))

    def prepare_many(
        self, cid: str, calls: Sequence[tuple[int, Slot | None, DailyLimit | None, Hours | None]]
    ) -> list[Ticket]:
        """`prepare` for several recipients of a campaign, `(index, slot, daily, hours)` each,
        in one step (one round trip): the same as calling it for each in turn at once."""
        counts: list[Any] = [len(calls)]
        keys: list[str] = []
        args: list[Any] = []
        for index, slot, daily, hours in calls:
            one_keys, one_args = self._prepare_call(cid, index, slot, daily, hours)
            counts += [len(one_keys), len(one_args)]
            keys += one_keys
            args += one_args
        found = self.script("prepare.lua*")(keys=keys, args=counts + args)
        return [self._ticket(cid, one) for one in found]

    def _prepare_call(
        self, cid: str, index: int, slot: Slot | None, daily: DailyLimit | None,
        hours: Hours | None,
    ) -> tuple[list[str], list[Any]]:  # fmt: skip
        k, now = self.keys, self.clock()
        bucket, field = divmod(index, BUCKET_SIZE)
        sharing = slot.sharing if slot else None
        keys = [
            *self.base_keys(cid), k.suppression(), k.recipients(cid, bucket), k.meta(cid),
            k.errors(cid), daily.key if daily else "", *(sharing or ("", "")), k.zones(cid),
            *(slot.keys if slot else ()),
        ]  # fmt: skip
        args: list[Any] = [
            cid, index, now, self.stale_after, field, round(slot.max_wait * 1e6) if slot else 0,
            daily.cap if daily else 0, daily.due if daily else 0,
            round(slot.slack * 1e6) if slot else 0, slot.share_ttl if slot else 0,
            slot.own_interval_us if slot else 0, *(hours if hours else ("", 0, 0)),
            round(slot.lead * 1e6) if slot else 0, *(slot.intervals_us if slot else ()),
        ]  # fmt: skip
        return keys, args

    def _ticket(self, cid: str, found: Any) -> Ticket:
        code, wait_us, rec, attempts, released, complete, slot_us, binding, share = found
        wait = wait_us / 1e6
        if code != 1:
            return Ticket(
                code, wait, "", {}, 0, [int(i) for i in released], binding=int(binding) - 1
            )
        phone, variables = self.unpack(cid, rec.decode())
        return Ticket(1, wait, phone, variables, int(attempts), [], bool(complete),
                      int(slot_us), int(binding) - 1, int(share))  # fmt: skip

    def claim(
        self, cid: str, index: int, *, lease_until: float, phone: str,
        slot: Slot | None = None, late: bool = False, back: float = 0.0,
    ) -> Claim:  # fmt: skip
        """Take a prepared recipient for its send (queued -> sending) until `lease_until`.

        With `slot` (its intervals resolved), the claim takes fresh slots of its limits when
        they are all idle (`Claim.fresh`); else, when the worker is already `late`, nothing is
        claimed (code 6). A fresh slot is placed `back` seconds before Redis's now (half the
        caller's round trip: its request then leaves as long after the slot as a prepared
        one's, whose claim is sent at its slot). Safe to repeat with the same `lease_until`
        (the claim is found again). When this call fails, call `give_back` with the same
        `lease_until`.
        """
        k = self.keys
        keys = [
            *self.base_keys(cid), k.suppression(), k.given_back(cid, index), k.meta(cid),
            *(slot.keys if slot else ()),
        ]  # fmt: skip
        args: list[Any] = [
            cid, index, self.clock(), lease_until, self.stale_after, phone, int(late),
            round(back * 1e6), *(slot.intervals_us if slot else ()),
        ]  # fmt: skip
        code, released, fresh = self.script("claim.lua")(keys=keys, args=args)
        return Claim(int(code), lease_until, [int(i) for i in released], bool(fresh))

    def give_back(self, cid: str, index: int, *, lease_until: float) -> Claim:
        """Undo a claim whose request was never written, whether or not the claim applied.

        Returns a Claim whose code says what happened: 1 given back (queued again, as before
        the claim: no attempt counted), 2 the claim had not arrived and now never will, 0
        nothing to give back.
        """
        now = self.clock()
        keys = [*self.base_keys(cid), self.keys.given_back(cid, index)]
        # the refusal must outlive any copy of the claim still on its way
        keep_ms = max(1000, round((lease_until - now) * 2000))
        args: list[Any] = [cid, index, now, lease_until, self.stale_after, keep_ms]
        code, released = self.script("release.lua")(keys=keys, args=args)
        return Claim(int(code), lease_until, [int(i) for i in released])

    def pace(self, cid: str, index: int, *, due: float) -> bool:
        """Put a queued recipient back to wait until `due` (queued -> paced), unclaimed."""
        k = self.keys
        keys = [*self.base_keys(cid), k.meta(cid), k.errors(cid)]
        args: list[Any] = [cid, index, self.clock(), due, self.stale_after]
        return bool(self.script("pace.lua")(keys=keys, args=args))

    def finish(
        self,
        cid: str,
        index: int,
        status: RecipientStatus,
        *,
        lease_until: float,
        attempted: bool = True,
        due: float = 0.0,
        message_id: str | None = None,
        error: str | None = None,
        phone: str | None = None,
    ) -> list[int]:
        """Record the outcome of the claim `lease_until` names; returns recipients released to
        keep the window full.

        `attempted` says the request reached (or may have reached) Replai: it counts an
        attempt and a send in the current rate. `message_id` goes into the index that
        delivery callbacks are matched by (callbacks that came for it before are applied
        now); `phone` (given for a sent message) into the index that replies are matched by.
        Safe to repeat: a second call changes nothing.
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
            lease_until,
        ]  # fmt: skip
        ok, released = self.script("finish.lua")(keys=keys, args=args)
        if not ok:
            logger.info("campaign %s recipient %d: outcome %s ignored (stale)", cid, index, status)
        return [int(i) for i in released]
