"""Delivering outbound events: one task per subscription at a time, oldest event first.

The ticker hands a subscription whose next attempt is due to a `deliver_events` task, with
the subscription's lock (`EventOutbox.lock_hook`). The task POSTs its waiting events oldest
first, each signed (`broadcaster.events.signed_request`), for up to `budget` seconds, in
windows of up to `EventRules.pipeline` written back to back on one connection (`windows`:
never two events of one recipient in a window, a campaign event alone; the next window goes
only when every answer of this one was 2xx):

- 2xx: delivered, the event leaves the queue;
- 410 Gone: the subscription is disabled (Standard Webhooks: the receiver asks to stop);
- anything else (5xx, other 4xx, timeout, connection error): the same event is tried again
  after a backoff (5 s, 10 s, 20 s ... up to an hour, with jitter), the events behind its
  window wait (they stay in order; those of other recipients in its window that were
  answered 2xx are delivered); once it has been retried for `max_age` (24 h) it goes to the
  dead letters and the next one has its turn.

Sending never waits for any of this: the Lua scripts only append to a bounded stream, and at
most one worker thread per subscription delivers.
"""

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence

from broadcaster import events
from broadcaster.events import EventRules
from broadcaster.store import CampaignStore

from .event_http import EventConnections

__all__ = ["HAND_OUT_LEASE", "EventSender", "Outcome", "post_event", "post_events", "windows"]

logger = logging.getLogger(__name__)

#: Seconds a task handed a subscription by the ticker has to start: one lost on its way (or
#: queued behind many sends) is replaced after it, and finds the lock taken when it comes.
HAND_OUT_LEASE = 10.0
#: Seconds one task delivers before it gives the subscription back (others get the thread).
DEFAULT_BUDGET = 5.0
_BATCH = 50
#: A waiting event: (stream entry id, its fields, the recipient's number or None).
Event = tuple[str, dict[str, str], str | None]


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """How one POST went: ok (2xx), gone (410), or an error to retry on."""

    ok: bool
    gone: bool = False
    error: str = ""
    status: int | None = None


def post_event(http: EventConnections, url: str, headers: dict[str, str], body: bytes) -> Outcome:
    """POST one signed event; never raises for the receiver's failures."""
    outcome = post_events(http, url, [(headers, body)])[0]
    assert outcome is not None  # the first request always gets an outcome
    return outcome


def _status(code: int) -> Outcome:
    if 200 <= code < 300:
        return Outcome(True, status=code)
    return Outcome(False, gone=code == 410, error=f"HTTP {code}", status=code)


def post_events(
    http: EventConnections, url: str, requests: Sequence[tuple[dict[str, str], bytes]]
) -> list[Outcome | None]:
    """POST signed events pipelined on one connection: an outcome for each, None for those
    after a failed one that got no answer (not tried: they go again later)."""
    outcomes: list[Outcome | None] = []
    for result in http.post_many(url, requests):
        if result is None:
            outcomes.append(None)
        elif isinstance(result, TimeoutError):
            outcomes.append(Outcome(False, error=f"timeout: {result or type(result).__name__}"))
        elif isinstance(result, Exception):
            error = f"connection error: {type(result).__name__}: {result}"
            outcomes.append(Outcome(False, error=error))
        else:
            outcomes.append(_status(result))
    return outcomes


def windows(batch: Sequence[Event], size: int) -> Iterator[list[Event]]:
    """`batch` cut into the runs of events POSTed at once: at most `size`, never two about
    one recipient, and a campaign event alone (so a failing event can only be overtaken by
    events of other recipients, and never by its campaign's)."""
    window: list[Event] = []
    seen: set[tuple[str, str]] = set()
    for event in batch:
        fields = event[1]
        who = (fields.get("c", ""), fields["r"]) if "r" in fields else None
        if window and (who is None or who in seen or len(window) >= size):
            yield window
            window, seen = [], set()
        window.append(event)
        if who is None:
            yield window
            window = []
        else:
            seen.add(who)
    if window:
        yield window


class EventSender:
    """Delivers one subscription's events while it holds the lock (see the module doc)."""

    def __init__(
        self,
        store: CampaignStore,
        http: EventConnections,
        rules: EventRules,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.http = http
        self.rules = rules
        self.clock = clock
        #: Seconds a running task holds the subscription without renewing its lock (renewed
        #: between windows): a task whose worker died gives it back to the ticker this long after.
        self.lock_ttl = max(1.0, 3 * rules.timeout)

    def run(self, sub: str, token: str, *, budget: float = DEFAULT_BUDGET) -> int:
        """Deliver `sub`'s waiting events for up to `budget` seconds; returns how many went."""
        target = self.store.hook_secret(sub)
        if target is None or not self.store.lock_hook(sub, token, self.lock_ttl):
            return 0
        try:
            return self._deliver(sub, token, target, time.monotonic() + budget)
        finally:
            self.store.unlock_hook(sub, token)

    def _deliver(self, sub: str, token: str, target: tuple[str, str], until: float) -> int:
        url, secret = target
        done, renewed = 0, time.monotonic()
        while time.monotonic() < until:
            batch = self.store.events_to_deliver(sub, _BATCH)
            if not batch:
                break
            delivered: list[str] = []
            try:
                for window in windows(batch, self.rules.pipeline):
                    if time.monotonic() - renewed > self.lock_ttl / 3:
                        if not self.store.lock_hook(sub, token, self.lock_ttl):
                            return done  # the lock ran out: another task has the subscription
                        renewed = time.monotonic()
                    took, failed, failures = self._post_window(url, secret, window)
                    delivered += took
                    done += len(took)
                    if failed is not None:  # the oldest event left; those behind it wait
                        self.store.events_delivered(sub, delivered)
                        delivered = []
                        self._failed(sub, *failed, failures=failures)
                        return done
            finally:  # acknowledged a batch at a time: a crash repeats at most one batch
                self.store.events_delivered(sub, delivered)
        return done

    def _post_window(
        self, url: str, secret: str, window: list[Event]
    ) -> tuple[list[str], tuple[str, dict[str, str], Outcome] | None, int]:
        """POST a window: the entry ids answered 2xx, the first failed event (or None) and
        how many failed."""
        now = self.clock()
        requests = [events.signed_request(*event, secret, now) for event in window]
        took: list[str] = []
        failed: tuple[str, dict[str, str], Outcome] | None = None
        failures = 0
        for (entry_id, fields, _), outcome in zip(
            window, post_events(self.http, url, requests), strict=True
        ):
            if outcome is None:
                continue  # not answered: goes again after the failed one
            if outcome.ok:
                took.append(entry_id)
                continue
            failures += 1
            if failed is None:
                failed = (entry_id, fields, outcome)
        return took, failed, failures

    def _failed(
        self, sub: str, entry_id: str, fields: dict[str, str], outcome: Outcome, *, failures: int
    ) -> None:
        if outcome.gone:
            logger.warning("event subscription %s answered 410 Gone: disabled", sub)
            self.store.disable_hook(sub, outcome.error)
            return
        now = self.clock()
        age = now - int(entry_id.partition("-")[0]) / 1000
        next_at: float | None = None
        if age < self.rules.max_age:
            attempts = self.store.hook_state(sub).attempts + 1
            next_at = now + events.backoff(attempts, self.rules.backoff_base)
        else:
            logger.warning("event %s to %s given up after %.0f s: %s",
                           entry_id, sub, age, outcome.error)  # fmt: skip
        self.store.event_failed(
            sub, entry_id, fields, error=outcome.error, next_at=next_at, rules=self.rules,
            failures=failures,
        )  # fmt: skip


_http: tuple[int, EventConnections] | None = None


def http_client(timeout: float) -> EventConnections:
    """This process's connections for event POSTs (new ones after a fork)."""
    global _http
    if _http is None or _http[0] != os.getpid():
        _http = (os.getpid(), EventConnections(timeout))
    return _http[1]
