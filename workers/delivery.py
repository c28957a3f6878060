"""deliver(): one recipient through limiter, client and store. No Celery in here.

The order matters. The claim comes first (queued -> sending, atomically), so a duplicate
delivery of the same task finds the recipient taken and sends nothing. The rate-limit slot is
reserved after the claim, so recipients that are skipped never spend one. Whatever happens,
the outcome is recorded with `CampaignStore.finish`, which also refills the dispatch window.
"""

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from broadcaster import operations
from broadcaster.campaigns import SLOT_HORIZON, Campaign, CampaignState, Channel, RecipientStatus
from broadcaster.errors import (
    RateLimitExceeded,
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
from broadcaster.store import CampaignStore, Claim

from .ratelimit import DailyCap, RateLimiter

__all__ = ["Policy", "Resources", "deliver"]

PENDING = RecipientStatus.PENDING

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """How sends are paced and retried.

    The first fields are settings (`Policy.from_settings`); the rest are the workers' own
    tuning, not meant to be configured.
    """

    channel_rates: Mapping[Channel, float]
    max_attempts: int
    backoff_base: float
    pair_interval: float
    #: How long a claim holds before the ticker declares the send's outcome unknown.
    lease: float
    #: Longest a worker holds a send waiting for its rate-limit slot before deferring it.
    max_wait: float = SLOT_HORIZON
    backoff_cap: float = 300.0
    #: Delay for "retry much later" answers (131048, 131049, daily limit).
    defer: float = 3600.0
    #: A send that wakes up later than this after its slot takes a new slot.
    late_tolerance: float = 0.010
    late_retries: int = 4
    #: Before a wait longer than this for a slot ends, check the campaign is still running...
    recheck_after: float = 0.05
    #: ...this long before the slot, so that the read does not make the send late.
    prewake: float = 0.02

    @classmethod
    def from_settings(cls, settings: Any, **tuning: Any) -> "Policy":
        """The policy of a deployment's `Settings`; `tuning` sets the other fields."""
        return cls(
            channel_rates=settings.channel_rates,
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_base,
            pair_interval=settings.pair_interval,
            lease=settings.lease,
            **tuning,
        )

    def rate_for(self, campaign: Campaign) -> float:
        """Sends per minute for this campaign's sender."""
        return campaign.rate(self.channel_rates)

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempts`: exponential, jittered, >= Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1))
        return max(retry_after or 0.0, random.uniform(ceiling / 2, ceiling))


@dataclasses.dataclass(slots=True)
class Resources:
    """What one worker process shares across tasks: built once, never per call."""

    store: CampaignStore
    client: ReplaiClient
    limiter: RateLimiter
    policy: Policy
    daily_cap: DailyCap | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    campaigns: dict[str, Campaign] = dataclasses.field(default_factory=dict)

    def campaign(self, cid: str) -> Campaign:
        """The campaign's (immutable) message fields, cached per process."""
        campaign = self.campaigns.get(cid)
        if campaign is None:
            campaign = self.campaigns[cid] = self.store.get(cid)
        return campaign


def deliver(res: Resources, cid: str, index: int) -> list[int]:
    """Send one recipient's message at most once; returns recipients released to publish."""
    claim = res.store.claim(cid, index, lease=res.policy.lease)
    if not claim.ok:
        return claim.released
    campaign = res.campaign(cid)
    if res.daily_cap is not None and not _admitted(res, campaign, claim.phone):
        due = _next_utc_midnight(res.clock())
        error = "daily cap of unique recipients reached for this sender"
        return res.store.finish(
            cid, index, RecipientStatus.PACED, attempted=False, due=due, error=error
        )
    text, params = campaign.message_for(claim.variables)  # before the slot: nothing after it
    try:
        state = _take_slot(res, campaign)
    except RateLimitExceeded as exc:
        due = res.clock() + exc.retry_after
        return res.store.finish(cid, index, RecipientStatus.PACED, attempted=False, due=due)
    if state is not CampaignState.RUNNING:
        back = RecipientStatus.CANCELLED if state is CampaignState.CANCELLED else PENDING
        return res.store.finish(cid, index, back, attempted=False)
    try:
        result = res.client.send(
            channel=campaign.channel,
            sender=campaign.sender,
            phone=claim.phone,
            text=text,
            template=campaign.template,
            params=params,
            language=campaign.language,
            ref=f"{cid}:{index}",
        )
    except ReplaiError as exc:
        return _failed(res, campaign, index, claim, exc)
    return res.store.finish(
        cid, index, RecipientStatus.SENT, message_id=result.message_id, phone=claim.phone
    )


def _admitted(res: Resources, campaign: Campaign, phone: str) -> bool:
    assert res.daily_cap is not None
    day = time.strftime("%Y%m%d", time.gmtime(res.clock()))
    return res.daily_cap.admit(res.store.keys.daily(campaign.sender_key, day), phone)


def _next_utc_midnight(now: float) -> float:
    return (now // 86400 + 1) * 86400


def _take_slot(res: Resources, campaign: Campaign) -> CampaignState:
    """Wait for a rate-limit slot; return the campaign's state (read again on long waits).

    The campaign may have been paused or cancelled while this send waited: a wait longer than
    `recheck_after` wakes `prewake` seconds early, reads the state, then sleeps to the slot, so
    the read neither delays the send nor hides a pause. A thread that still wakes later than
    `late_tolerance` after its slot takes another slot; after `late_retries` late wake-ups the
    send goes back to wait (RateLimitExceeded), never out late.

    A send that leaves late moves closer to the ones after it: enough lateness and a window
    of `period` would hold limit + 1 sends at the provider. Giving up a late slot keeps the
    spacing; it costs a little throughput only when the process was starved of CPU.
    """
    rate, policy = res.policy.rate_for(campaign), res.policy
    key = res.store.keys.rate(campaign.sender_key)
    for _ in range(policy.late_retries):
        start = time.monotonic()
        wait = res.limiter.reserve(key, per_minute=rate, max_wait=policy.max_wait)
        slot = start + wait  # on this clock; the reservation's round trip counts as lateness
        if wait > policy.recheck_after:
            res.sleep(wait - policy.prewake)
            state = res.store.state(campaign.id)
            if state is not CampaignState.RUNNING:
                return state
        res.sleep(max(0.0, slot - time.monotonic()))
        if time.monotonic() - slot <= policy.late_tolerance:
            return CampaignState.RUNNING
        logger.debug("late for a rate-limit slot on %s; taking another", campaign.sender_key)
    raise RateLimitExceeded(key, policy.recheck_after)


def _failed(
    res: Resources, campaign: Campaign, index: int, claim: Claim, exc: ReplaiError
) -> list[int]:
    store, cid, who = res.store, campaign.id, mask_phone(claim.phone)
    if isinstance(exc, ReplaiSenderBlocked):
        logger.error("campaign %s paused: %s (recipient %s)", cid, exc.reason, who)
        operations.pause(store, cid, reason=exc.reason)
        return store.finish(cid, index, RecipientStatus.PENDING, attempted=False)
    if isinstance(exc, ReplaiRejected):
        logger.info("campaign %s: %s failed: %s", cid, who, exc.reason)
        return store.finish(cid, index, RecipientStatus.FAILED, error=exc.reason)
    if isinstance(exc, ReplaiTimeout):
        logger.warning("campaign %s: %s outcome unknown: %s", cid, who, exc.reason)
        return store.finish(cid, index, RecipientStatus.UNKNOWN, error=f"unknown: {exc.reason}")
    if isinstance(exc, ReplaiDeferred):
        logger.warning("campaign %s: %s deferred: %s", cid, who, exc.reason)
        due = res.clock() + max(res.policy.defer, exc.retry_after or 0)
        return store.finish(
            cid, index, RecipientStatus.WAITING, attempted=False, due=due, error=exc.reason
        )
    return _retry(res, campaign, index, claim, exc)


def _retry(
    res: Resources, campaign: Campaign, index: int, claim: Claim, exc: ReplaiError
) -> list[int]:
    store, policy, cid = res.store, res.policy, campaign.id
    attempts = claim.attempts + 1
    if not isinstance(exc, ReplaiRetryable) or attempts >= policy.max_attempts:
        reason = f"gave up after {attempts} attempts: {exc.reason}"
        return store.finish(cid, index, RecipientStatus.FAILED, error=reason)
    delay = policy.backoff(attempts, exc.retry_after)
    if isinstance(exc, ReplaiThrottled):
        res.limiter.penalize(res.store.keys.rate(campaign.sender_key), exc.retry_after or 1.0)
    elif isinstance(exc, ReplaiPairRateLimited):
        delay = max(delay, policy.pair_interval)
    logger.info(
        "campaign %s: %s retry %d in %.1fs: %s",
        cid, mask_phone(claim.phone), attempts, delay, exc.reason,
    )  # fmt: skip
    return store.finish(
        cid, index, RecipientStatus.WAITING, due=res.clock() + delay, error=exc.reason
    )
