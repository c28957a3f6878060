"""The Celery side of `broadcaster.operations.Dispatch`: released recipients become
`send_messages` tasks on the workers' queue."""

from collections.abc import Iterable, Sequence

from celery import Celery
from kombu.exceptions import KombuError

from broadcaster.errors import BrokerUnavailable
from broadcaster.redact import redact_url
from broadcaster.settings import get_settings

from .app import app

__all__ = ["FAN_OUT_MAX", "SEND_TASK", "CeleryDispatch", "publish_sends"]

#: The task that sends a batch of recipients (`workers.tasks.send_messages`).
SEND_TASK = "broadcaster.send_messages"


def publish_sends(
    campaign_id: str, indexes: Iterable[int], *, celery_app: Celery | None = None
) -> None:
    """Put the recipients on the queue as send tasks of `BROADCASTER_SEND_BATCH` each, in one
    batch of broker writes (on Redis; RabbitMQ confirms each publish); a small campaign's
    release (`FAN_OUT_MAX`) as one task sent side by side."""
    indexes = list(indexes)
    if not indexes:
        return
    size, on = get_settings().send_batch, celery_app or app
    if len(indexes) > 1 and max(indexes) < FAN_OUT_MAX:  # a small campaign's recipients
        on.send_task(SEND_TASK, (campaign_id, indexes), {"fan_out": True})
        return
    with on.producer_or_acquire() as producer, producer.batch():
        for start in range(0, len(indexes), size):
            chunk = indexes[start : start + size]
            on.send_task(SEND_TASK, (campaign_id, chunk), producer=producer)


#: A release of recipients all among a campaign's first this many (a small campaign's: the
#: refills of a larger one come later in the list) goes out as one task whose recipients are
#: sent side by side (`send_messages(..., fan_out=True)`): one task message for the campaign,
#: and its last send leaves about when its first does. A larger campaign's refills keep their
#: batches, sent one after the other, so its pacing is as before.
FAN_OUT_MAX = 16


class CeleryDispatch:
    """Publishes sends through the Celery app in `workers.app`.

    Usage:
        operations.resume(store, CeleryDispatch(), campaign_id)

    Args:
        celery_app: another app than `workers.app.app` (another broker), for tests and tools.
    """

    def __init__(self, celery_app: Celery | None = None) -> None:
        self.celery_app = celery_app

    def publish(self, campaign_id: str, indexes: Sequence[int]) -> None:
        """Queue the recipients' sends (see `publish_sends`).

        Raises:
            BrokerUnavailable: the broker cannot be reached (after Celery's publish retries).
        """
        try:
            publish_sends(campaign_id, indexes, celery_app=self.celery_app)
        except (KombuError, OSError) as exc:
            on = self.celery_app or app
            url = redact_url(str(on.conf.broker_url))
            raise BrokerUnavailable(
                f"cannot reach the task broker at {url} ({type(exc).__name__}): start it or "
                "check BROADCASTER_BROKER_URL"
            ) from exc
