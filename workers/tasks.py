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

from . import instruments, resources
from .app import app
from .delivery import deliver
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
    (a small campaign's whole release in one task, `publish_sends`), on this process's
    fan-out threads (`FAN_OUT_THREADS`), so its last message leaves about when its first does.
    Each recipient is handled as below either way.
    """
    if fan_out and len(indexes) > 1:
        futures = [_fan_out_pool().submit(_send_batch, campaign_id, [i]) for i in indexes]
        failure = next((f.exception() for f in futures if f.exception() is not None), None)
        if failure is not None:
            raise failure
    else:
        _send_batch(campaign_id, indexes)


#: Threads per worker process that send the recipients of fanned-out tasks.
FAN_OUT_THREADS = 16
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _fan_out_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(FAN_OUT_THREADS, "broadcaster-fan-out"))
    return _pool[1]


def _send_batch(campaign_id: str, indexes: list[int]) -> None:
    """Send a few recipients' messages, one after the other.

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
            released = retry_while_unavailable(
                functools.partial(deliver, res, campaign_id, int(index)),
                until=time.monotonic() + res.policy.outage_patience, clock=time.monotonic,
                sleep=res.sleep, what=f"sending to recipient {index} of {campaign_id}",
            )  # fmt: skip
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
        try:
            publish_sends(campaign_id, released)
        except Exception as exc:  # in the window: the ticker publishes them again
            logger.warning("campaign %s: released sends not published: %r", campaign_id, exc)
            failure = failure or exc
    if failure is not None:
        raise failure


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
