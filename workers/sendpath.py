"""What the send path shares in a worker process: how sends are paced and retried (`Policy`),
the store, clients and limiter built once (`Resources`, by `workers.resources`), and the Redis
round trips the pacing judges lateness by (`RoundTrips`). No Celery in here."""

import collections
import dataclasses
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from broadcaster.campaigns import SLOT_HORIZON, Campaign
from broadcaster.errors import ConfigurationError
from broadcaster.limits import DEFAULT_ACCOUNT, Limits
from broadcaster.replai import ReplaiClient
from broadcaster.sendhours import SendHours
from broadcaster.store import CampaignStore

from .ratelimit import RateLimiter

__all__ = ["Policy", "Resources", "RoundTrips"]


class RoundTrips:
    """The shortest Redis round trip of a worker process lately (of its last `size` claims).

    Every send has it (its claim takes one), so it moves no send closer to another: lateness
    is judged beyond it, and a slot Redis gives `wait` from its own now comes about half a
    round trip after the call started. With Redis a few ms away (another host), judging the
    round trip itself as lateness would make every send late.
    """

    def __init__(self, size: int = 64) -> None:
        self._recent: collections.deque[float] = collections.deque(maxlen=size)
        self._lock = threading.Lock()
        self.floor = 0.0

    def observe(self, seconds: float) -> None:
        """Count one round trip (seconds)."""
        with self._lock:
            self._recent.append(seconds)
            self.floor = min(self._recent)

    def measure(self, ping: Callable[[], object], times: int = 5) -> None:
        """Observe `times` calls of `ping` (Redis's PING): the floor is known before the
        first send, whose slot would else be placed as if Redis were no distance away."""
        for _ in range(times):
            start = time.monotonic()
            ping()
            self.observe(time.monotonic() - start)


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    """How sends are paced and retried.

    The first fields are settings (`Policy.from_settings`); the rest are the workers' own
    tuning, not meant to be configured.
    """

    limits: Limits
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
    #: A send that gets to its request later than this after its slot takes a new slot.
    late_tolerance: float = 0.010
    #: How long before an inner slot (campaign, sender) the account's slot is asked for.
    outer_lead: float = 0.005
    late_retries: int = 4
    #: After `late_retries` late tries, the recipient waits this long (paced) to come back.
    late_pause: float = 0.05
    #: How long a send task waits for Redis to answer again before it leaves its remaining
    #: recipients queued (the ticker publishes them again once Redis is back).
    outage_patience: float = 60.0

    @classmethod
    def from_settings(cls, settings: Any, **tuning: Any) -> "Policy":
        """The policy of a deployment's `Settings`; `tuning` sets the other fields."""
        return cls(
            limits=Limits.from_settings(settings),
            max_attempts=settings.max_attempts,
            backoff_base=settings.backoff_base,
            pair_interval=settings.pair_interval,
            lease=settings.lease,
            **tuning,
        )

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds before retry number `attempts`: exponential, jittered, >= Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1))
        return max(retry_after or 0.0, random.uniform(ceiling / 2, ceiling))


@dataclasses.dataclass(slots=True)
class Resources:
    """What one worker process shares across tasks: built once, never per call."""

    store: CampaignStore
    #: The default account's client; `clients` has the others by account name.
    client: ReplaiClient
    limiter: RateLimiter
    policy: Policy
    #: Unique recipients per sender per UTC day (0: no cap).
    daily_cap: int = 0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    campaigns: dict[str, Campaign] = dataclasses.field(default_factory=dict)
    #: Campaigns' sending hours, as the send path needs them (`sendhours`).
    hours: SendHours = dataclasses.field(default_factory=SendHours)
    #: Where the wait for each rate-limit slot is reported (workers/instruments.py).
    observe_wait: Callable[[Campaign, float], None] | None = None
    clients: Mapping[str, ReplaiClient] = dataclasses.field(default_factory=dict)
    #: Accounts whose client could not be built (no credentials), with the reason.
    unusable: Mapping[str, str] = dataclasses.field(default_factory=dict)
    round_trips: RoundTrips = dataclasses.field(default_factory=RoundTrips)

    def campaign(self, cid: str) -> Campaign:
        """The campaign's (immutable) message fields, cached per process."""
        campaign = self.campaigns.get(cid)
        if campaign is None:
            campaign = self.campaigns[cid] = self.store.get(cid)
        return campaign

    def client_for(self, campaign: Campaign) -> ReplaiClient:
        """The Replai client of the campaign's account (each account has its own pool).

        Raises:
            CampaignInvalid: the account is not configured.
            ConfigurationError: it is, but this worker has no client for it (no credentials).
        """
        account = self.policy.limits.account_for(campaign.sender, campaign.account)
        if account in self.unusable:
            raise ConfigurationError(self.unusable[account])
        return self.clients.get(account) or self._default(account)

    def _default(self, account: str) -> ReplaiClient:
        if account != DEFAULT_ACCOUNT:
            raise ConfigurationError(f"no Replai client for account {account!r} in this worker")
        return self.client
