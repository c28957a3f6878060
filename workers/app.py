"""The Celery app, built from Settings. `celery -A workers.app worker` finds `app` here."""

from typing import Any

from celery import Celery
from kombu import Queue

from broadcaster.settings import Settings, get_settings

__all__ = ["app", "broker_kind", "create_app"]


def create_app(settings: Settings | None = None) -> Celery:
    """Build the Celery app: late acks, no results, one message reserved per process.

    Why these settings (see README, "Workers"):
    - acks_late + reject_on_worker_lost: a task whose worker dies is delivered again; the
      store's atomic claim makes a second delivery harmless.
    - prefetch 1: a worker does not hoard sends that others could make while it waits.
    - no result backend: outcomes live in the campaign store; results would cost a pub/sub
      subscription per task (celery#4707).
    - broker_channel_error_retry: an error the broker answers on a channel (Redis refusing
      writes when it is full or read-only after a failover; kombu counts redis-py's
      ResponseError as a channel error) restarts the consumer's connection instead of ending
      the worker with "Unrecoverable error" (celery#7946, the option came with celery#7951).
      A task whose ack failed that way is left for redelivery; the claim makes it harmless.
    - the broker's own options: `broker_options`.
    """
    # an app for other settings (tests, benchmarks) must not become the process's current one
    current = settings is None
    settings = settings or get_settings()
    app = Celery(
        "broadcaster", broker=settings.celery_broker_url, include=["workers.tasks"],
        set_as_current=current,
    )  # fmt: skip
    app.conf.update(
        task_default_queue=settings.queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_store_errors_even_if_ignored=False,
        result_backend=None,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a broker that is away is waited for, for ever
        broker_channel_error_retry=True,
        broker_pool_limit=50,
        task_serializer="json",
        accept_content=["json"],
        worker_soft_shutdown_timeout=10.0,
        worker_enable_soft_shutdown_on_idle=True,
        **broker_options(settings),
    )
    return app


def broker_kind(url: str) -> str:
    """ "redis" or "amqp" (RabbitMQ) for a broker URL; the scheme for anything else."""
    scheme = url.partition("://")[0].partition("+")[0]
    if scheme in ("redis", "rediss", "unix", "sentinel"):
        return "redis"
    if scheme in ("amqp", "amqps", "pyamqp"):
        return "amqp"
    return scheme


def broker_options(settings: Settings) -> dict[str, Any]:
    """What each broker needs for the guarantees (README, "Choosing the broker").

    Redis: acks that the broker refuses (full) or cannot take (restarted) are left for
    redelivery instead of ending the worker (workers/broker.py); a visibility timeout well
    above the longest send (no countdowns are used: retries
    wait in the store's window, so no ETA task can outlive it), a connection pool above any
    concurrency (kombu's 10 lost messages under gevent: celery-notes.md), and the same
    socket timeouts as the store's client.

    RabbitMQ: publisher confirms (a publish returns once the broker has the message), a
    durable queue and persistent messages (Celery's default), so a restarted broker keeps
    every queued send; the queue is classic unless `BROADCASTER_RABBITMQ_QUEUE_TYPE=quorum`
    (replicated over a cluster's nodes; on one node it only costs more). Unacked messages go
    back to the queue when a worker's connection drops: no visibility timeout.
    """
    kind = broker_kind(settings.celery_broker_url)
    if kind == "redis":
        scheme = settings.celery_broker_url.partition("://")[0]
        # kombu's Redis transport with acks that cannot end a worker (workers/broker.py)
        transport = {"broker_transport": "workers.broker:RedisTransport"}
        return (transport if scheme in ("redis", "rediss") else {}) | {
            "broker_transport_options": {
                "visibility_timeout": 3600,
                "max_connections": 200,
                "socket_timeout": settings.redis_socket_timeout,
                "socket_connect_timeout": settings.redis_connect_timeout,
            }
        }
    if kind == "amqp":
        quorum = settings.rabbitmq_queue_type == "quorum"
        arguments = {"x-queue-type": "quorum"} if quorum else None
        return {
            "broker_transport_options": {"confirm_publish": True},
            "task_queues": [Queue(settings.queue, durable=True, queue_arguments=arguments)],
        }
    return {}


app = create_app()
