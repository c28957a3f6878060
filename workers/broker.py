"""kombu's Redis transport, with acks that cannot end a worker.

Celery runs a task's ack on the consumer's event loop and passes `Message.ack_log_error` the
transport's connection errors: one of those is logged ("Couldn't ack") and the message is left
for redelivery; anything else propagates out of the event loop, and Celery ends the worker
with "Unrecoverable error". Two faults of a Redis broker raise something else:

- Redis full (`maxmemory`, `noeviction`): kombu acks in a MULTI/EXEC pipeline (ZREM + HDEL of
  its unacked index), and Redis 7 refuses every command queued in MULTI while it is out of
  memory, deletions included: OutOfMemoryError, a ResponseError (a "channel" error to kombu).
- Redis restarted: an ack still queued for a message of the lost connection runs once the
  consumer has reconnected, on the closed channel, whose connection has no client any more:
  AttributeError in kombu's `_connparams` (seen in `make chaos`: both workers ended).

Here both become `AckNotRecorded`, a redis-py ConnectionError, which Celery logs; the message
stays in kombu's unacked index and comes back after the visibility timeout, where the store's
claim turns it away (it was sent already). `broker_channel_error_retry` (workers/app.py)
covers the remaining channel errors (a message received while Redis is full).
"""

from collections.abc import Callable
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

__all__ = ["AckNotRecorded", "RedisTransport"]


class AckNotRecorded(redis.exceptions.ConnectionError):
    """An ack (or reject) the broker did not record: the message will be delivered again."""


class _QoS(kombu_redis.QoS):
    def ack(self, delivery_tag: str) -> None:
        self._guarded(super().ack, delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        self._guarded(super().reject, delivery_tag, requeue=requeue)

    def _guarded(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            call(*args, **kwargs)
        except redis.ResponseError as exc:
            raise AckNotRecorded(f"Redis refused the ack ({exc}); left for redelivery") from exc
        except AttributeError as exc:
            channel = self.channel
            transport = getattr(channel, "connection", None)
            if not channel.closed and getattr(transport, "client", None) is not None:
                raise  # not the lost connection's: a bug to see
            raise AckNotRecorded(
                "the connection of this message is gone; left for redelivery"
            ) from exc


class _Channel(kombu_redis.Channel):
    QoS = _QoS


class RedisTransport(kombu_redis.Transport):
    """`broker_transport` for redis:// brokers (workers/app.py)."""

    Channel = _Channel
