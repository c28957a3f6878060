"""Outbound event subscriptions: how their deliveries go, their dead letters, replay.

Subscriptions come from `BROADCASTER_EVENT_WEBHOOKS` and from each campaign's `events_url`
(docs/events.md). Here an operator sees, per subscription, the events waiting, the last error
and the next attempt, lists the events given up on after 24 h of retries, and queues them again.
"""

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from broadcaster.store import CampaignStore

from ..auth import ApiKey
from ..deps import StoreDep
from ..errors import ApiError
from ..schemas import ErrorOut

__all__ = ["router"]

router = APIRouter(prefix="/events", tags=["events"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 404)}


class SubscriptionOut(BaseModel):
    """A subscription (never its secret) and how its deliveries go."""

    id: str
    url: str
    disabled: bool
    #: Events waiting for delivery (at most BROADCASTER_EVENTS_BACKLOG).
    backlog: int
    #: Events given up on, kept for replay.
    dead: int
    delivered: int
    failed: int
    #: Failed attempts of the oldest waiting event so far.
    attempts: int
    #: When its next attempt is due (unix seconds), while it is being retried.
    next_at: float | None
    last_error: str | None
    last_error_at: float | None


class DeadEvent(BaseModel):
    """An event given up on: its id, type, data fields, the last error and when."""

    id: str
    type: str
    fields: dict[str, str]
    error: str
    at: float


class Replayed(BaseModel):
    """How many dead letters were queued again."""

    replayed: int


def _known(store: CampaignStore, sub: str) -> None:
    if sub not in store.hook_ids():
        raise ApiError(404, f"no event subscription {sub!r}")


@router.get("/subscriptions", response_model=list[SubscriptionOut], responses=_ERRORS)
def list_subscriptions(store: StoreDep) -> list[SubscriptionOut]:
    """Every subscription with its backlog, last error and next retry."""
    return [SubscriptionOut(**store.hook_state(s).to_dict()) for s in store.hook_ids()]


@router.get("/subscriptions/{sub}", response_model=SubscriptionOut, responses=_ERRORS)
def get_subscription(sub: str, store: StoreDep) -> SubscriptionOut:
    """One subscription."""
    _known(store, sub)
    return SubscriptionOut(**store.hook_state(sub).to_dict())


@router.get("/subscriptions/{sub}/dead", response_model=list[DeadEvent], responses=_ERRORS)
def dead_events(
    sub: str, store: StoreDep, limit: int = Query(100, ge=1, le=1000)
) -> list[DeadEvent]:
    """The events given up on, newest first."""
    _known(store, sub)
    return [
        DeadEvent(id=d["id"], type=d["fields"].get("type", ""), fields=d["fields"],
                  error=d["error"], at=d["at"])
        for d in store.dead_events(sub, limit=limit)
    ]  # fmt: skip


@router.post("/subscriptions/{sub}/replay", response_model=Replayed, responses=_ERRORS)
def replay(sub: str, store: StoreDep) -> Replayed:
    """Queue every dead letter again (oldest first, under its first event id) and retry at
    once."""
    _known(store, sub)
    return Replayed(replayed=store.replay_dead(sub))


@router.post("/subscriptions/{sub}/enable", response_model=SubscriptionOut, responses=_ERRORS)
def enable(sub: str, store: StoreDep) -> SubscriptionOut:
    """Deliver again to a subscription disabled by a 410 answer."""
    _known(store, sub)
    store.enable_hook(sub)
    return SubscriptionOut(**store.hook_state(sub).to_dict())
