"""Thin Celery tasks: decode ids, call a plain function, publish what it released."""

import functools
import gc
import logging
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

from broadcaster import operations
from broadcaster.campaigns import RecipientStatus
from broadcaster.errors import ConfigurationError
from broadcaster.events import EventRules
from broadcaster.settings import get_settings
from broadcaster.store import Ticket

from . import instruments, resources
from .app import app
from .delivery import Plan, Resources, deliver, prepare_many, send_prepared
from .dispatch import CeleryDispatch, publish_sends
from .events import EventSender, http_client
from .outages import retry_while_unavailable, unavailable

__all__ = [
    "deliver_events",
    "requeue_campaign",
    "resume_campaign",
    "send_message",
    "send_messages",
    "start_campaign",
]

logger = logging.getLogger(__name__)


@app.task(name="broadcaster.send_messages", acks_late=True, reject_on_worker_lost=True)
def send_messages(campaign_id: str, indexes: list[int], fan_out: bool = False) -> None:
    """Send a few recipients' messages: one after the other, or side by side with `fan_out`
    (a small campaign's whole release in one task, `publish_sends`) or for a sender pool's
    campaign (`_pool_campaign`), on this process's
    fan-out threads (`FAN_OUT_THREADS`), so its last message leaves about when its first does.
    Each recipient is handled as below either way; side by side, they are first prepared
    together in one step (`delivery.prepare_many`), and each is claimed just before its own
    request, as alone.
    """
    if len(indexes) > 1 and (fan_out or _pool_campaign(campaign_id)):
        prepared = _prepare_together(campaign_id, [int(i) for i in indexes])
        pool = _fan_out_pool()
        if prepared is None:  # each prepared on its own
            futures = [pool.submit(_send_batch, campaign_id, [i]) for i in indexes]
        else:  # the ready ones (the others were turned away: not queued, paced...)
            futures = [pool.submit(_send_batch, campaign_id, [i], p) for i, p in prepared.items()]
        failure = next((f.exception() for f in futures if f.exception() is not None), None)
        if failure is not None:
            raise failure
    else:
        _send_batch(campaign_id, indexes)


def _pool_campaign(campaign_id: str) -> bool:
    """A sender pool's recipients go side by side too: each waits for its own sender's slot,
    so a task's recipients of a sender whose slots are taken further ahead do not hold back
    those of the others (one after the other, a pool of 4 used 80-98 % of each account)."""
    try:
        return len(resources.get().campaign(campaign_id).senders) > 1
    except Exception:  # deleted, Redis unavailable...: the send path says so, one by one
        return False


#: Threads per worker process that send the recipients of fanned-out tasks (a pool's wait
#: for their slots there, a few seconds at most each).
FAN_OUT_THREADS = 32
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _fan_out_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(FAN_OUT_THREADS, "broadcaster-fan-out"))
    return _pool[1]


def _prepare_together(
    campaign_id: str, indexes: list[int]
) -> dict[int, tuple[Plan, Ticket]] | None:
    """The ready recipients, prepared in one step (one round trip instead of one each); the
    others `prepare` turned away release recipients, published at once. None when that step
    failed: nothing was claimed, and each recipient is prepared on its own (`_send_batch`)."""
    try:
        prepared = prepare_many(resources.get(), campaign_id, indexes)
    except Exception as exc:
        logger.info("campaign %s: recipients not prepared together: %r", campaign_id, exc)
        return None
    released = [i for _, ticket in prepared for i in ticket.released]
    if released:
        try:
            publish_sends(campaign_id, released)
        except Exception as exc:  # in the window: the ticker publishes them again
            logger.warning("campaign %s: released sends not published: %r", campaign_id, exc)
    return {plan.index: (plan, ticket) for plan, ticket in prepared if ticket.ok}


def _send_batch(
    campaign_id: str, indexes: list[int], prepared: tuple[Plan, Ticket] | None = None
) -> None:
    """Send a few recipients' messages, one after the other; the first from `prepared` (its
    plan and ticket) when it was prepared already.

    The task carries ids only (no phone number in Flower). Each recipient is claimed just
    before its own request, so a batch delivered twice, or cut short by a crash, sends nobody
    twice: the recipients not reached are still queued, and the redelivery or the ticker
    sends them. Recipients released by each outcome are published at once. While Redis cannot
    answer (paused, full, restarting), the task waits for it (`Policy.outage_patience` per
    recipient) and goes on where it was; past that it stops, leaving the rest queued. Any
    other error on one recipient does not stop the others; it is raised at the end.
    """
    res = resources.get()
    failure: Exception | None = None
    for index in indexes:
        try:
            released = _deliver(res, campaign_id, int(index), prepared)
        except redis.RedisError as exc:
            if unavailable(exc):
                logger.warning("campaign %s: Redis still unavailable; recipients from %s on "
                               "stay queued: %r", campaign_id, index, exc)  # fmt: skip
                raise
            logger.warning("campaign %s: recipient %s not handled: %r", campaign_id, index, exc)
            failure = failure or exc
            continue
        except Exception as exc:  # raised below, once the others had their turn
            logger.warning("campaign %s: recipient %s not handled: %r", campaign_id, index, exc)
            failure = failure or exc
            continue
        finally:
            prepared = None
        try:
            publish_sends(campaign_id, released)
        except Exception as exc:  # in the window: the ticker publishes them again
            logger.warning("campaign %s: released sends not published: %r", campaign_id, exc)
            failure = failure or exc
    if failure is not None:
        raise failure


def _deliver(
    res: Resources, campaign_id: str, index: int, prepared: tuple[Plan, Ticket] | None
) -> list[int]:
    """`deliver`, from its prepared ticket when there is one. Redis failing before the claim
    (or the claim given back) leaves the recipient queued: it is then delivered from the start,
    waiting for Redis as long as `Policy.outage_patience`."""
    if prepared is not None:
        try:
            return send_prepared(res, *prepared)
        except redis.RedisError as exc:
            if not unavailable(exc):
                raise
            logger.info("campaign %s: recipient %d from the start: %r", campaign_id, index, exc)
    return retry_while_unavailable(
        functools.partial(deliver, res, campaign_id, index),
        until=time.monotonic() + res.policy.outage_patience, clock=time.monotonic,
        sleep=res.sleep, what=f"sending to recipient {index} of {campaign_id}",
    )  # fmt: skip


@app.task(name="broadcaster.send_message", acks_late=True, reject_on_worker_lost=True)
def send_message(campaign_id: str, index: int) -> None:
    """One recipient: the task of earlier versions, still consumed while their queue drains."""
    publish_sends(campaign_id, deliver(resources.get(), campaign_id, index))


@app.task(name="broadcaster.deliver_events", acks_late=True, reject_on_worker_lost=True)
def deliver_events(subscription: str, token: str) -> None:
    """Deliver a subscription's waiting events, in order, while `token` holds its lock (the
    ticker took it for this task). A task delivered twice, or after its lock ran out, does
    nothing: another has the subscription."""
    settings = get_settings()
    rules = EventRules.from_settings(settings)
    sender = EventSender(resources.get().store, http_client(rules.timeout), rules)
    sender.run(subscription, token)


def hand_out_events(subscription: str, token: str) -> None:
    """Queue a delivery task for a subscription (the ticker's hook)."""
    deliver_events.delay(subscription, token)


@app.task(name="broadcaster.start_campaign")
def start_campaign(campaign_id: str) -> None:
    """Start a draft campaign: the task of earlier versions, still consumed (campaigns now
    start in `broadcaster.operations.launch`)."""
    operations.start(resources.get().store, CeleryDispatch(), campaign_id)


@app.task(name="broadcaster.resume_campaign")
def resume_campaign(campaign_id: str) -> None:
    """Resume a paused campaign: the task of earlier versions, still consumed."""
    operations.resume(resources.get().store, CeleryDispatch(), campaign_id)


@app.task(name="broadcaster.requeue_campaign")
def requeue_campaign(campaign_id: str, status: int) -> None:
    """Send again the recipients in one status: the task of earlier versions, still consumed
    (the operator asked, and confirmed for `unknown`, before it was queued)."""
    store, dispatch = resources.get().store, CeleryDispatch()
    if status == RecipientStatus.UNKNOWN:
        operations.resend_unknown(store, dispatch, campaign_id, confirm=True)
    else:
        operations.retry_failed(store, dispatch, campaign_id)


#: The exit code of a worker whose configuration is wrong (sysexits.h EX_CONFIG):
#: `broadcaster worker` does not start it again.
EX_CONFIG = 78


@worker_init.connect
def _check_configuration(**_: Any) -> None:
    # Fail fast: a worker that cannot reach Replai would otherwise run and send nothing.
    try:
        get_settings().replai_client().close()
    except ConfigurationError as exc:
        logger.critical("worker cannot start: %s", exc)
        sys.stderr.write(f"error: {exc}\n")
        sys.stderr.flush()
        os._exit(EX_CONFIG)


@worker_process_init.connect
def _fresh_resources(**_: Any) -> None:
    resources.reset()
    _freeze_heap()


@worker_ready.connect
def _start_ticker(**_: Any) -> None:
    from .ticker import Ticker

    Ticker.start_global(CeleryDispatch(), hand_out_events)
    _freeze_heap()


def _freeze_heap() -> None:
    """Keep what the worker built at start out of the garbage collector's full passes.

    A Celery worker starts with a few hundred thousand objects; a full collection over them
    stops every thread for 30-40 ms. One landing between a send's rate-limit check and the
    request leaving makes the send that late and squeezes it toward the next one.
    """
    resources.get()
    gc.collect()
    gc.freeze()


@worker_shutdown.connect
def _stop_ticker(**_: Any) -> None:
    from .ticker import Ticker

    Ticker.stop_global()
    instruments.recorder(resources.get().store).flush()  # this process's last counts
