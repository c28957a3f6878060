"""The rate limits of a send, in the worker: the slots `prepare` reserves, the account's slot
taken once the inner ones have come, and the account held back after a 429.

A send passes its limits from the inside out (`broadcaster.limits.Limits.chain`): the
campaign's own rate (if any) and its sender's at one common slot, reserved by `prepare`; the
account's (shared by every sender and campaign on the account) in the same step when that slot
is now, else once it has come (`reserve_outer`), so a slot of the account is never held by a
send that is still waiting for another limit. When the account then has no slot within reach,
the inner slot is given back (refunded, where nobody took a later one) and the recipient waits,
paced.
"""

import logging
import time
from typing import TYPE_CHECKING

import redis

from broadcaster.campaigns import Campaign
from broadcaster.errors import RateLimitExceeded
from broadcaster.limits import Limit
from broadcaster.store import DailyLimit, Slot, Ticket

from .ratelimit import Reservation

if TYPE_CHECKING:
    from .sendpath import Resources

__all__ = ["daily_for", "outer_slot", "resolved", "retake", "slot_for", "slow_down"]

logger = logging.getLogger(__name__)


def slot_for(res: "Resources", campaign: Campaign) -> Slot:
    """The limits a send of `campaign` reserves, innermost first, the account's last; just
    inside the account's, the campaign's fair share of it (its interval found by prepare.lua
    from the campaigns active on the account: see README, "Fair sharing"). No slot is given
    sooner than half a round trip after Redis's now (`Slot.lead`): a slot at Redis's now has
    passed when its answer reaches a worker a distance away, and the send would leave late."""
    chain, keys = res.policy.limits.chain(campaign), res.store.keys
    outer = chain[-1]
    intervals = [res.limiter.interval_us(limit.per_minute) for limit in chain]
    own = intervals[0] if chain[0].kind == "campaign" else 0
    return Slot(
        (*(keys.rate(limit.key) for limit in chain[:-1]), keys.share(outer.key, campaign.id),
         keys.rate(outer.key)),
        (*intervals[:-1], 0, intervals[-1]),
        res.policy.max_wait,
        sharing=(keys.sharing(outer.key), keys.share_caps(outer.key)),
        own_interval_us=own,
        lead=res.round_trips.floor / 2,
    )  # fmt: skip


def resolved(slot: Slot, ticket: Ticket) -> Slot:
    """The slot with the campaign's share interval `prepare` found filled in; without the
    share when prepare did not reserve it: the whole account (the campaign alone on it), and
    a limit inside it (its own rate, its sender's) no looser than the account's, which so
    keeps the account's slot taken just in time. Else, alone, the share is kept: the account's
    slots are not held ahead by one campaign, and another that starts gets its share soon."""
    if not ticket.share_us or 0 not in slot.intervals_us:
        return slot
    at, outer = slot.intervals_us.index(0), slot.intervals_us[-1]
    if ticket.share_us == outer and at and max(slot.intervals_us[:at]) >= outer:
        return slot._replace(
            keys=slot.keys[:at] + slot.keys[at + 1 :],
            intervals_us=slot.intervals_us[:at] + slot.intervals_us[at + 1 :],
        )
    intervals = tuple(ticket.share_us if i == 0 else i for i in slot.intervals_us)
    return slot._replace(intervals_us=intervals)


def daily_for(res: "Resources", campaign: Campaign) -> DailyLimit | None:
    """The sender's cap of unique recipients today (UTC), if the deployment sets one."""
    if not res.daily_cap:
        return None
    now = res.clock()
    day = time.strftime("%Y%m%d", time.gmtime(now))
    key = res.store.keys.daily(campaign.sender_key, day)
    return DailyLimit(key, res.daily_cap, (now // 86400 + 1) * 86400)


def _outer(res: "Resources", campaign: Campaign) -> Limit:
    return res.policy.limits.chain(campaign)[-1]


def outer_slot(
    res: "Resources", campaign: Campaign, index: int, ticket: Ticket, slot: Slot, at: float
) -> float | None:
    """Sleep until the inner slot `prepare` held (at `at`, monotonic), then reserve the
    account's; returns when both have come (monotonic), or None when the recipient was paced.

    A thread that wakes later than `late_tolerance` after its inner slot takes new slots (of
    every limit), as a late claim does (delivery.py): a send that leaves late moves closer to
    the next one of its campaign or sender. After `late_retries` late wake-ups the recipient
    goes back to wait (paced).
    """
    held = Reservation(
        0.0, False, ticket.slot_us, slot.keys[:-1], slot.intervals_us[:-1],
        slot.keys[max(ticket.binding, 0)],
    )  # fmt: skip
    return _inner_then_outer(res, campaign, index, slot, held, at)


def retake(res: "Resources", campaign: Campaign, index: int, slot: Slot) -> float | None:
    """New slots of every limit, for a send that got to its request late: when they have
    come (monotonic), or None when the recipient was paced."""
    return _inner_then_outer(res, campaign, index, slot, None, 0.0)


def _inner_then_outer(
    res: "Resources", campaign: Campaign, index: int, slot: Slot, held: Reservation | None,
    at: float,
) -> float | None:  # fmt: skip
    policy = res.policy
    for _ in range(policy.late_retries):
        if held is not None:  # asked for a little early: its round trip then costs nothing
            lead = max(policy.outer_lead, res.round_trips.floor)
            res.sleep(max(0.0, at - lead - time.monotonic()))
            if time.monotonic() - at <= policy.late_tolerance:
                return reserve_outer(res, campaign, index, slot, held)
        start = time.monotonic()
        try:
            held = res.limiter.reserve_intervals(
                slot.keys, slot.intervals_us, max_wait=slot.max_wait, slack=slot.slack,
                lead=slot.lead,
            )  # fmt: skip
        except RateLimitExceeded as exc:
            res.store.pace(campaign.id, index, due=res.clock() + exc.retry_after)
            return None
        at = start + res.round_trips.floor / 2 + held.wait
        if held.complete:
            return at
    res.store.pace(campaign.id, index, due=res.clock() + policy.late_pause)
    return None


def reserve_outer(
    res: "Resources", campaign: Campaign, index: int, slot: Slot, held: Reservation
) -> float | None:
    """Reserve the account's next slot, none before the inner one `held`; returns when it
    comes (monotonic). None when the account has no slot within reach: `held` (the inner
    slot) is given back and the recipient paced.

    Raises:
        redis.RedisError: nothing was claimed; the recipient is still queued.
    """
    start = time.monotonic()
    try:
        wait = res.limiter.reserve(slot.key, per_minute=_outer(res, campaign).per_minute,
                                   max_wait=slot.max_wait, not_before_us=held.slot_us,
                                   guard=res.store.keys.campaign(campaign.id))  # fmt: skip
    except RateLimitExceeded as exc:
        res.limiter.refund(held)
        res.store.pace(campaign.id, index, due=res.clock() + exc.retry_after)
        return None
    return start + res.round_trips.floor / 2 + wait


def slow_down(res: "Resources", campaign: Campaign, seconds: float) -> None:
    """Hold back every slot of the campaign's account after a 429 (best effort: the outcome
    comes first). Replai throttles per account: every sender on it slows down."""
    key = res.store.keys.rate(_outer(res, campaign).key)
    try:
        res.limiter.penalize(key, seconds)
    except redis.RedisError as exc:
        logger.warning("rate limit %s not slowed down: %s", key, exc)
