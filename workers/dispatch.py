"""The Celery side of `broadcaster.operations.Dispatch`: released recipients become
`send_messages` tasks on the workers' queue."""

from collections.abc import Iterable, Sequence

from kombu.exceptions import KombuError

from broadcaster.errors import BrokerUnavailable
from broadcaster.redact import redact_url
from broadcaster.settings import get_settings

from .app import app

__all__ = ["SEND_TASK", "CeleryDispatch", "publish_sends"]

#: The task that sends a batch of recipients (`workers.tasks.send_messages`).
SEND_TASK = "broadcaster.send_messages"


def publish_sends(campaign_id: str, indexes: Iterable[int]) -> None:
    """Put the recipients on the queue as send tasks of `BROADCASTER_SEND_BATCH` each, in one
    batch of broker writes."""
    indexes = list(indexes)
    if not indexes:
        return
    size = get_settings().send_batch
    with app.producer_or_acquire() as producer, producer.batch():
        for start in range(0, len(indexes), size):
            chunk = indexes[start : start + size]
            app.send_task(SEND_TASK, (campaign_id, chunk), producer=producer)


class CeleryDispatch:
    """Publishes sends through the Celery app in `workers.app`.

    Usage:
        operations.resume(store, CeleryDispatch(), campaign_id)
    """

    def publish(self, campaign_id: str, indexes: Sequence[int]) -> None:
        """Queue the recipients' sends (see `publish_sends`).

        Raises:
            BrokerUnavailable: the broker cannot be reached (after Celery's publish retries).
        """
        try:
            publish_sends(campaign_id, indexes)
        except (KombuError, OSError) as exc:
            url = redact_url(get_settings().celery_broker_url)
            raise BrokerUnavailable(
                f"cannot reach the task broker at {url} ({type(exc).__name__}): start it or "
                "check BROADCASTER_BROKER_URL"
            ) from exc
