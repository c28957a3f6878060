"""Thin Celery tasks: decode ids, call a plain function, publish what it released."""

import logging
import os
import sys
from collections.abc import Iterable
from typing import Any

from celery.signals import worker_init, worker_process_init, worker_ready, worker_shutdown

from broadcaster.errors import ConfigurationError
from broadcaster.settings import get_settings

from . import resources
from .app import app
from .delivery import deliver

__all__ = [
    "publish_sends",
    "requeue_campaign",
    "resume_campaign",
    "send_message",
    "start_campaign",
]

logger = logging.getLogger(__name__)


@app.task(name="broadcaster.send_message", acks_late=True, reject_on_worker_lost=True)
def send_message(campaign_id: str, index: int) -> None:
    """Send one recipient's message (the task carries ids only: no phone number in Flower)."""
    publish_sends(campaign_id, deliver(resources.get(), campaign_id, index))


@app.task(name="broadcaster.start_campaign")
def start_campaign(campaign_id: str) -> None:
    """Start a draft campaign (or schedule it when its send_at is ahead)."""
    publish_sends(campaign_id, resources.get().store.start(campaign_id))


@app.task(name="broadcaster.resume_campaign")
def resume_campaign(campaign_id: str) -> None:
    """Resume a paused campaign."""
    publish_sends(campaign_id, resources.get().store.resume(campaign_id))


def publish_sends(campaign_id: str, indexes: Iterable[int]) -> None:
    """Put one send_message task per recipient index on the queue, on one producer."""
    indexes = list(indexes)
    if not indexes:
        return
    with app.producer_or_acquire() as producer, producer.batch():
        for index in indexes:
            send_message.apply_async((campaign_id, index), producer=producer)


@app.task(name="broadcaster.requeue_campaign")
def requeue_campaign(campaign_id: str, status: int) -> None:
    """Send again the recipients in one status (failed, or unknown when asked explicitly)."""
    from broadcaster.campaigns import RecipientStatus

    released, _ = resources.get().store.requeue(campaign_id, RecipientStatus(status))
    publish_sends(campaign_id, released)


@worker_init.connect
def _check_configuration(**_: Any) -> None:
    # Fail fast: a worker that cannot reach Replai would otherwise run and send nothing.
    try:
        get_settings().replai_client().close()
    except ConfigurationError as exc:
        logger.critical("worker cannot start: %s", exc)
        sys.stderr.write(f"error: {exc}\n")
        sys.stderr.flush()
        os._exit(1)


@worker_process_init.connect
def _fresh_resources(**_: Any) -> None:
    resources.reset()


@worker_ready.connect
def _start_ticker(**_: Any) -> None:
    from .ticker import Ticker

    Ticker.start_global(publish_sends)


@worker_shutdown.connect
def _stop_ticker(**_: Any) -> None:
    from .ticker import Ticker

    Ticker.stop_global()
