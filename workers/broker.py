"""kombu's Redis transport, with acks and closes that cannot end a worker.

Celery treats the transport's connection and channel errors as recoverable: an ack that
raises one is logged ("Couldn't ack") and the message left for redelivery, a close that
raises one is ignored, a consumer that meets one reconnects. Anything else propagates out of
the consumer and Celery ends the worker with "Unrecoverable error" (exit code 1). Two faults
of a Redis broker raise something else with kombu's own transport:

- Redis full (`maxmemory`, `noeviction`): kombu acks in a MULTI/EXEC pipeline (ZREM + HDEL of
  its unacked index), and Redis 7 refuses every command queued in MULTI while it is out of
  memory, deletions included: OutOfMemoryError, a ResponseError. It becomes `AckNotRecorded`.
- The connection lost (Redis restarted, or a socket reset): Celery's consumer collects the
  connection, then closes it. The first close of the channel stops at the read of its pending
  BRPOP (a connection error, ignored), yet the transport is dropped anyway (its `client` set
  to None); the second close then builds a new connection pool to restore the unacked
  messages, from a transport without client: AttributeError in kombu's `_connparams`, out of
  Celery's `ignore_errors`, and the worker ends (seen in `make chaos`, exit code 1; the same
  AttributeError as kombu#582 and kombu#970). An ack still queued for a message of the lost
  connection meets the same AttributeError. Here a channel whose transport is gone raises
  `TransportGone`, a connection error: the close is ignored, the ack logged.

Both exceptions are redis-py ConnectionErrors. A message whose ack was not recorded stays in
kombu's unacked index and comes back after the visibility timeout, where the store's claim
turns it away (it was sent already); the ticker republishes what is still queued meanwhile.
`broker_channel_error_retry` (workers/app.py) covers the remaining channel errors (a message
received while Redis is full).

The channel also keeps one Redis client for its short commands (the ack, the unacked index of
a delivered message, a publish), where kombu builds a new one for each: a redis-py client costs
about 70 us of CPU to build, three times per task (bench/small.py, docs/benchmarks.md).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

__all__ = ["AckNotRecorded", "RedisTransport", "TransportGone"]


class AckNotRecorded(redis.exceptions.ConnectionError):
    """An ack (or reject) the broker did not record: the message will be delivered again."""


class TransportGone(redis.exceptions.ConnectionError):
    """The channel belongs to a broker connection that was closed: no new Redis client."""


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


class _Channel(kombu_redis.Channel):
    QoS = _QoS
    _shared: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """`client`, or the channel's client on its current pool (a new one once the pool was
        dropped: a lost connection). A redis-py client is thread-safe: each command and each
        pipeline takes a connection of the pool."""
        if client:
            yield client
            return
        pool = self.pool  # raises TransportGone once the transport is closed
        shared = self._shared
        if shared is None or shared.connection_pool is not pool:
            shared = self._shared = self._create_client()  # type: ignore[attr-defined]
        yield shared

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:  # the transport was closed
            raise TransportGone("the broker connection of this channel is closed")
        # (celery-types does not know this method of kombu's channel)
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]
        return params


class RedisTransport(kombu_redis.Transport):
    """`broker_transport` for redis:// brokers (workers/app.py)."""

    Channel = _Channel
