"""The Celery app, built from Settings. `celery -A workers.app worker` finds `app` here."""

from celery import Celery

from broadcaster.settings import get_settings

__all__ = ["app", "create_app"]


def create_app() -> Celery:
    """Build the Celery app: late acks, no results, one message reserved per process.

    Why these settings (see README, "Workers"):
    - acks_late + reject_on_worker_lost: a task whose worker dies is delivered again; the
      store's atomic claim makes a second delivery harmless.
    - prefetch 1: a worker does not hoard sends that others could make while it waits.
    - no result backend: outcomes live in the campaign store; results would cost a pub/sub
      subscription per task (celery#4707).
    - visibility_timeout well above the longest send; no countdowns are used (retries wait in
      the store's window, released by the ticker), so no ETA task can outlive it.
    """
    settings = get_settings()
    app = Celery("broadcaster", broker=settings.celery_broker_url, include=["workers.tasks"])
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
        broker_channel_error_retry=True,
        broker_transport_options={"visibility_timeout": 3600, "max_connections": 200},
        broker_pool_limit=50,
        task_serializer="json",
        accept_content=["json"],
        worker_soft_shutdown_timeout=10.0,
        worker_enable_soft_shutdown_on_idle=True,
    )
    return app


app = create_app()
