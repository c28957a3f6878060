"""The Celery side of `broadcaster.operations.Dispatch`: released recipients become
`send_messages` tasks on the workers' queue."""

from collections.abc import Iterable, Sequence

from celery import Celery
from kombu.exceptions import KombuError

from broadcaster.errors import BrokerUnavailable
from broadcaster.redact import redact_url
from broadcaster.settings import get_settings

from .app import app

__all__ = ["SEND_TASK", "CeleryDispatch", "batch_size", "publish_sends"]

#: The task that sends a batch of recipients (`workers.tasks.send_messages`).
SEND_TASK = "broadcaster.send_messages"


def publish_sends(
    campaign_id: str, indexes: Iterable[int], *, celery_app: Celery | None = None
) -> None:
    """Put the recipients on the queue as send tasks of `BROADCASTER_SEND_BATCH` each, in one
    batch of broker writes (on Redis; RabbitMQ confirms each publish)."""
    indexes = list(indexes)
    if not indexes:
        return
    size, on = batch_size(len(indexes), get_settings().send_batch), celery_app or app
    with on.producer_or_acquire() as producer, producer.batch():
        for start in range(0, len(indexes), size):
            chunk = indexes[start : start + size]
            on.send_task(SEND_TASK, (campaign_id, chunk), producer=producer)


#: A release this small or smaller is spread over up to this many tasks, so a small campaign's
#: recipients go out side by side on several threads instead of one after the other.
SPREAD = 4


def batch_size(released: int, send_batch: int) -> int:
    """Recipients per task for a release of `released`: `send_batch`, or fewer for a small
    release (10 recipients: 3 tasks of 3 or 4 rather than 8 and 2, so the last of them
    leaves about 4 provider round trips after the call, not 8)."""
    return max(1, min(send_batch, -(-released // SPREAD)))


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
