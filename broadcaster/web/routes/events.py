"""Outbound event subscriptions: made and removed, how their deliveries go, their dead
letters, replay.

Subscriptions come from `BROADCASTER_EVENT_WEBHOOKS`, from `POST /events/subscriptions` (kept
in Redis; every campaign launched afterwards gets them, like the settings' ones) and from each
campaign's `events_url` (docs/events.md). Here an operator sees, per subscription, the events
waiting, the last error and the next attempt, lists the events given up on after 24 h of
retries, and queues them again. A secret is shown once, in the answer that made it.
"""

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from broadcaster.events import Subscription, check_secret, new_secret
from broadcaster.store import CampaignStore

from ..auth import ApiKey
from ..deps import DefaultsDep, StoreDep
from ..errors import ApiError
from ..schemas import ErrorOut

__all__ = ["router"]

router = APIRouter(prefix="/events", tags=["events"], dependencies=[ApiKey])

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 404)}
_MAKE_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 409, 422)
}
Source = Literal["api", "settings", "campaign"]


class SubscriptionIn(BaseModel):
    """A subscription every campaign launched from now on gets."""

    url: str = Field(description="Where to POST the events: http:// or https://.")
    secret: str | None = Field(
        None,
        description="The signing secret (whsec_ and base64 of 24 to 64 bytes); omitted: one "
        "is made. Either way it is returned once, in this answer only.",
    )


class SubscriptionOut(BaseModel):
    """A subscription (never its secret) and how its deliveries go."""

    id: str
    url: str
    #: api (POST /events/subscriptions), settings (BROADCASTER_EVENT_WEBHOOKS) or campaign
    #: (a campaign's own events_url).
    source: Source = "campaign"
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


class SubscriptionMade(SubscriptionOut):
    """A subscription just made, with its secret: the only time it is shown."""

    secret: str


class SubscriptionRemoved(BaseModel):
    """The subscription taken away, from new campaigns and from those it had."""

    id: str
    removed: bool = True


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


def _sources(store: CampaignStore, defaults: DefaultsDep) -> dict[str, Source]:
    """Where the subscriptions not made by a campaign come from, by id."""
    found: dict[str, Source] = {s.id: "settings" for s in defaults.events}
    return found | dict.fromkeys(store.global_hook_ids(), "api")


def _out(store: CampaignStore, sub: str, sources: dict[str, Source]) -> SubscriptionOut:
    return SubscriptionOut(**store.hook_state(sub).to_dict(), source=sources.get(sub, "campaign"))


@router.get("/subscriptions", response_model=list[SubscriptionOut], responses=_ERRORS)
def list_subscriptions(store: StoreDep, defaults: DefaultsDep) -> list[SubscriptionOut]:
    """Every subscription (never its secret) with its backlog, last error and next retry."""
    sources = _sources(store, defaults)
    return [_out(store, s, sources) for s in store.hook_ids()]


@router.post(
    "/subscriptions", response_model=SubscriptionMade, status_code=201, responses=_MAKE_ERRORS
)
def make_subscription(
    body: SubscriptionIn, store: StoreDep, defaults: DefaultsDep
) -> SubscriptionMade:
    """Send the events of every campaign launched from now on to `url` too, signed with
    `secret` (made when omitted; returned here only). 409 when a subscription made here, or
    one of the settings (`BROADCASTER_EVENT_WEBHOOKS`), already has that URL: with the same
    secret they would share one queue, which deleting this one would take from the settings'."""
    try:
        sub = Subscription(body.url, check_secret(body.secret) if body.secret else new_secret())
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    if any(s.url == sub.url for s in defaults.events):
        raise ApiError(409, "the settings' event subscriptions already have this URL")
    if (other := store.add_global_hook(sub)) is not None:
        raise ApiError(409, f"event subscription {other} already has this URL: delete it first")
    made = _out(store, sub.id, _sources(store, defaults))
    return SubscriptionMade(**made.model_dump(), secret=sub.secret)


@router.get("/subscriptions/{sub}", response_model=SubscriptionOut, responses=_ERRORS)
def get_subscription(sub: str, store: StoreDep, defaults: DefaultsDep) -> SubscriptionOut:
    """One subscription."""
    _known(store, sub)
    return _out(store, sub, _sources(store, defaults))


@router.delete("/subscriptions/{sub}", response_model=SubscriptionRemoved, responses=_MAKE_ERRORS)
def remove_subscription(sub: str, store: StoreDep) -> SubscriptionRemoved:
    """Take a subscription made here away: new campaigns do not get it, the campaigns that
    have it stop adding events to it, and its waiting events and dead letters go. 404 for
    the others (the settings' and the campaigns' own)."""
    if not store.remove_global_hook(sub):
        raise ApiError(404, f"no event subscription {sub!r} made through the API")
    return SubscriptionRemoved(id=sub)


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
def enable(sub: str, store: StoreDep, defaults: DefaultsDep) -> SubscriptionOut:
    """Deliver again to a subscription disabled by a 410 answer."""
    _known(store, sub)
    store.enable_hook(sub)
    return _out(store, sub, _sources(store, defaults))
