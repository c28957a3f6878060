"""deliver(): one recipient through store, limiter and client. No Celery in here.

The order is what keeps `unknown` honest ("the request may have left", nothing else):

1. prepare (one Lua step): still queued, campaign running and not expired, number not
   suppressed, inside its sending hours (else it waits for them), daily cap not reached; then
   its rate-limit slots are reserved (pacing.py: the campaign's own, the sender's, the
   account's; the account's once the others have come). Nothing is held yet: a worker that
   dies, or a Redis call that fails, from here to the claim leaves the recipient queued, and it
   is published and sent later. A recipient that will not be sent spends no slot.
2. the message is built and the thread sleeps until its slot (and reserves the account's, if
   `prepare` could not yet); one that wakes late (or whose claim took long) gives the claim
   back and takes another slot of the account.
3. claim (queued -> sending under a lease), then at once the request: nothing that can wait or
   fail stands between them. A claim call that fails is given back, whether it applied or not.
4. finish: the outcome (which also refills the dispatch window), tried again while Redis cannot
   answer: the request has left, what happened to it must be kept.
"""

import dataclasses
import logging
import time
from typing import Any

from broadcaster import operations
from broadcaster.campaigns import Campaign, RecipientStatus
from broadcaster.errors import (
    CampaignInvalid,
    CampaignStateError,
    ConfigurationError,
    ReplaiDeferred,
    ReplaiError,
    ReplaiPairRateLimited,
    ReplaiRejected,
    ReplaiRetryable,
    ReplaiSenderBlocked,
    ReplaiThrottled,
    ReplaiTimeout,
)
from broadcaster.phones import mask_phone
from broadcaster.replai import ReplaiClient
from broadcaster.store import Claim, DailyLimit, Hours, Slot, Ticket

from . import pacing, senderpool
from .outages import retry_while_unavailable
from .sendpath import Policy, Resources

__all__ = ["Plan", "Policy", "Resources", "deliver", "plan_send", "prepare_many", "send_prepared"]

logger = logging.getLogger(__name__)

#: `Claim.code` of a claim refused because its worker was late and its limits busy.
LATE = 6


def deliver(res: Resources, cid: str, index: int) -> list[int]:
    """Send one recipient's message at most once; returns recipients released to publish.

    Raises:
        redis.RedisError: Redis failed before the recipient was claimed (or the claim was
            given back): it is still queued, nothing was sent; try again later.
    """
    try:
        plan = plan_send(res, cid, index)
    except AccountUnusable as exc:
        return _unusable_account(res, cid, index, exc)
    ticket = res.store.prepare(cid, index, slot=plan.slot, daily=plan.daily, hours=plan.hours)
    return send_prepared(res, plan, ticket)


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """What one recipient's send needs before `prepare`."""

    index: int
    #: The campaign as this recipient sends it (the sender of its pool).
    campaign: Campaign
    client: ReplaiClient
    slot: Slot
    daily: DailyLimit | None
    hours: Hours | None
    #: When `prepare` was called (monotonic): its slot's wait counts from about then.
    start: float


class AccountUnusable(Exception):
    """The Replai account a send would go through cannot be used in this worker (unknown, or
    without credentials): its campaign is paused (`_unusable_account`)."""


def plan_send(res: Resources, cid: str, index: int) -> Plan:
    """The limits, cap and hours a send of recipient `index` is prepared with.

    Raises:
        AccountUnusable: the account of the recipient's sender cannot be used.
    """
    campaign = senderpool.sender_of(res, res.campaign(cid), index)
    try:
        client = res.client_for(campaign)
    except (ConfigurationError, CampaignInvalid) as exc:
        raise AccountUnusable(str(exc)) from exc
    slot = pacing.slot_for(res, campaign)
    start = time.monotonic()  # Redis's now comes half a round trip later, a slow one's later
    hours = res.hours.at(campaign, res.clock())  # None: it may send at any time
    daily = pacing.daily_for(res, campaign)
    return Plan(index, campaign, client, slot, daily, hours, start)


def prepare_many(res: Resources, cid: str, indexes: list[int]) -> list[tuple[Plan, Ticket]]:
    """`prepare` for a few recipients of a campaign in one step (one round trip), each then
    sent by `send_prepared`: a small campaign's recipients, sent side by side.

    Raises:
        redis.RedisError: nothing was claimed; the recipients are still queued.
    """
    plans = []
    for index in indexes:
        try:
            plans.append(plan_send(res, cid, index))
        except AccountUnusable as exc:  # the campaign is paused: this one back to pending
            _unusable_account(res, cid, index, exc)
    start = time.monotonic()  # the call's, for every one (not when its plan was made)
    plans = [dataclasses.replace(plan, start=start) for plan in plans]
    calls = [(p.index, p.slot, p.daily, p.hours) for p in plans]
    return list(zip(plans, res.store.prepare_many(cid, calls), strict=True))


def send_prepared(res: Resources, plan: Plan, ticket: Ticket) -> list[int]:
    """The rest of `deliver` once `prepare` answered `ticket`: wait for the slot, claim,
    send, record the outcome; returns recipients released to publish.

    Raises:
        redis.RedisError: as `deliver`.
    """
    campaign, client, index, cid = plan.campaign, plan.client, plan.index, plan.campaign.id
    if not ticket.ok:
        return ticket.released
    if res.observe_wait is not None:
        res.observe_wait(campaign, ticket.wait)
    slot = pacing.resolved(plan.slot, ticket)
    text, params = campaign.message_for(ticket.variables)  # before the claim: nothing after it
    first = plan.start + res.round_trips.floor / 2 + ticket.wait
    at: float | None = first
    if not ticket.complete:  # the inner limits' slot only: the account's once it has come
        at = pacing.outer_slot(res, campaign, index, ticket, slot, first)
    claim = None if at is None else _claim_on_time(res, campaign, index, ticket, slot, at)
    if claim is None or not claim.ok:
        return claim.released if claim is not None else []
    try:
        result = client.send(
            channel=campaign.channel,
            sender=campaign.sender,
            phone=ticket.phone,
            text=text,
            template=campaign.template,
            params=params,
            language=campaign.language,
            ref=f"{cid}:{index}",
        )
    except ReplaiError as exc:
        return _failed(res, campaign, index, ticket, claim, exc)
    return _finish(
        res, cid, index, claim, RecipientStatus.SENT,
        message_id=result.message_id, phone=ticket.phone,
    )  # fmt: skip


def _unusable_account(res: Resources, cid: str, index: int, exc: Exception) -> list[int]:
    """The campaign's account cannot be used (unknown, or no credentials in this worker):
    pause the campaign, the reason in its status, instead of failing every send task and
    having it published again forever; the recipient goes back to pending with the others.
    Resume it once the account is configured and the workers restarted."""
    reason = f"Replai account unusable: {exc}"
    try:
        operations.pause(res.store, cid, reason=reason)
        logger.error("campaign %s paused: %s", cid, reason)
    except CampaignStateError:
        pass  # paused already (another of its sends), or cancelled: nothing to add
    return res.store.prepare(cid, index).released  # paused: put back to pending


def _claim_on_time(
    res: Resources, campaign: Campaign, index: int, ticket: Ticket, slot: Slot, at: float
) -> Claim | None:
    """Sleep until the slot (at `at` on the monotonic clock), then claim; None when paced.

    A thread that gets to its request later than `late_tolerance` after the slot (it woke
    late, or the claim itself took long: Redis paused), beyond the round trip every claim
    takes (`RoundTrips`), gives the claim back and takes another slot; but when its limits
    are idle, the claim itself takes fresh slots at its own time (claim.lua), and a late
    thread whose limits are busy is refused by it (nothing to give back); after `late_retries`
    late tries the recipient goes back to wait (paced), never out late. A send that leaves
    late moves closer to the ones after it: enough lateness and a window of the provider's
    would hold one send too many.
    """
    policy, cid = res.policy, campaign.id
    for _ in range(policy.late_retries):
        res.sleep(max(0.0, at - time.monotonic()))
        started = time.monotonic()
        woke_late = started - at > policy.late_tolerance
        claim = _claim(res, cid, index, ticket.phone, slot, woke_late)
        if claim.code != LATE:
            # a fresh slot was taken by the claim itself, placed half a round trip before
            # Redis's now: about when the claim began (claim.lua)
            since = started if claim.fresh else at
            late = time.monotonic() - since - res.round_trips.floor
            if not claim.ok or late <= policy.late_tolerance:
                return claim
            _give_back(res, cid, index, claim.lease_until)
        logger.debug("late for a rate-limit slot on %s; taking another", slot.key)
        again = pacing.retake(res, campaign, index, slot)
        if again is None:
            return None
        at = again
    res.store.pace(cid, index, due=res.clock() + policy.late_pause)
    return None


def _claim(res: Resources, cid: str, index: int, phone: str, slot: Slot, late: bool) -> Claim:
    """Claim under a new lease (taking fresh slots of `slot`'s limits when they are idle;
    refused when `late` and they are busy); when the call fails, give the claim back and
    raise."""
    lease_until = res.clock() + res.policy.lease
    try:
        started = time.monotonic()
        claim = res.store.claim(
            cid, index, lease_until=lease_until, phone=phone, slot=slot, late=late,
            back=res.round_trips.floor / 2,
        )  # fmt: skip
        res.round_trips.observe(time.monotonic() - started)
        return claim
    except Exception:
        _give_back(res, cid, index, lease_until)
        raise


def _give_back(res: Resources, cid: str, index: int, lease_until: float) -> None:
    """Undo a claim whose request was never written (tried until its lease ends)."""
    try:
        retry_while_unavailable(
            lambda: res.store.give_back(cid, index, lease_until=lease_until),
            until=lease_until, clock=res.clock, sleep=res.sleep, what="giving a claim back",
        )  # fmt: skip
    except Exception:
        logger.exception(
            "campaign %s recipient %d: claim not given back; it will end unknown although "
            "nothing was sent", cid, index,
        )  # fmt: skip


def _finish(
    res: Resources, cid: str, index: int, claim: Claim, status: RecipientStatus, **outcome: Any
) -> list[int]:
    """Record an outcome, trying again while Redis cannot answer: until the lease ends, and a
    lease more (the ticker has turned the recipient `unknown` by then; the late outcome still
    replaces it)."""
    return retry_while_unavailable(
        lambda: res.store.finish(cid, index, status, lease_until=claim.lease_until, **outcome),
        until=claim.lease_until + res.policy.lease, clock=res.clock, sleep=res.sleep,
        what="recording an outcome",
    )  # fmt: skip


def _failed(
    res: Resources, campaign: Campaign, index: int, ticket: Ticket, claim: Claim, exc: ReplaiError
) -> list[int]:
    store, cid, who = res.store, campaign.id, mask_phone(ticket.phone)
    if isinstance(exc, ReplaiSenderBlocked) and senderpool.taken_out(res, campaign, exc):
        due = res.clock()  # back to wait, sent by another sender of the pool (not attempted)
        return _finish(
            res, cid, index, claim, RecipientStatus.WAITING, attempted=False, due=due,
            error=f"sender {campaign.sender} out: {exc.reason}",
        )  # fmt: skip
    if isinstance(exc, ReplaiSenderBlocked):
        logger.error("campaign %s paused: %s (recipient %s)", cid, exc.reason, who)
        retry_while_unavailable(
            lambda: operations.pause(store, cid, reason=exc.reason), until=claim.lease_until,
            clock=res.clock, sleep=res.sleep, what="pausing a campaign",
        )  # fmt: skip
        return _finish(res, cid, index, claim, RecipientStatus.PENDING, attempted=False)
    if isinstance(exc, ReplaiRejected):
        logger.info("campaign %s: %s failed: %s", cid, who, exc.reason)
        return _finish(res, cid, index, claim, RecipientStatus.FAILED, error=exc.reason)
    if isinstance(exc, ReplaiTimeout):
        logger.warning("campaign %s: %s outcome unknown: %s", cid, who, exc.reason)
        error = f"unknown: {exc.reason}"
        return _finish(res, cid, index, claim, RecipientStatus.UNKNOWN, error=error)
    if isinstance(exc, ReplaiDeferred):
        logger.warning("campaign %s: %s deferred: %s", cid, who, exc.reason)
        due = res.clock() + max(res.policy.defer, exc.retry_after or 0)
        return _finish(
            res, cid, index, claim, RecipientStatus.WAITING, attempted=False, due=due,
            error=exc.reason,
        )  # fmt: skip
    return _retry(res, campaign, index, ticket, claim, exc)


def _retry(
    res: Resources, campaign: Campaign, index: int, ticket: Ticket, claim: Claim, exc: ReplaiError
) -> list[int]:
    policy, cid = res.policy, campaign.id
    attempts = ticket.attempts + 1
    if not isinstance(exc, ReplaiRetryable) or attempts >= policy.max_attempts:
        reason = f"gave up after {attempts} attempts: {exc.reason}"
        return _finish(res, cid, index, claim, RecipientStatus.FAILED, error=reason)
    delay = policy.backoff(attempts, exc.retry_after)
    if isinstance(exc, ReplaiThrottled):
        pacing.slow_down(res, campaign, exc.retry_after or 1.0)
    elif isinstance(exc, ReplaiPairRateLimited):
        delay = max(delay, policy.pair_interval)
    logger.info(
        "campaign %s: %s retry %d in %.1fs: %s",
        cid, mask_phone(ticket.phone), attempts, delay, exc.reason,
    )  # fmt: skip
    return _finish(
        res, cid, index, claim, RecipientStatus.WAITING, due=res.clock() + delay,
        error=exc.reason,
    )  # fmt: skip
