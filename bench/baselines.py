"""The alternatives a user would otherwise write, as their own Celery apps and queues.

    celery -A bench.baselines:naive worker -Q bench_naive -P prefork -c 2
    celery -A bench.baselines:bare worker -Q bench_bare -P prefork -c 2

- `naive`: one task per message that calls `httpx.post()` (a new client, so a new connection
  and SSL context, per call), Celery's default settings, enqueued with a `.delay()` loop: a
  typical first implementation. No rate limit, no de-duplication, no retry, no record of
  outcomes beyond Celery's own.
- `bare`: one task per message through one pooled `httpx.Client` per process, results
  ignored, published in one kombu batch: the least Celery work a send can cost, with none of
  the project's guarantees. It is the ceiling the project's pipeline is compared with.

Both send the same request as the project (`POST /api/waba/send` with a Bearer token, the
same phone numbers and text) to `BENCH_SANDBOX_URL`; the broker is `BENCH_BROKER_URL`.
"""

import os
import threading
from collections.abc import Sequence

import httpx
from celery import Celery

from bench.harness import TOKEN

__all__ = ["BARE_QUEUE", "NAIVE_QUEUE", "bare", "enqueue_bare", "enqueue_naive", "naive"]

NAIVE_QUEUE = "bench_naive"
BARE_QUEUE = "bench_bare"
_BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/8")
_SANDBOX = os.environ.get("BENCH_SANDBOX_URL", "http://127.0.0.1:8099")
_SENDER = "w"

naive = Celery("bench_naive", broker=_BROKER, set_as_current=False)
naive.conf.update(task_default_queue=NAIVE_QUEUE, broker_connection_retry_on_startup=True)

bare = Celery("bench_bare", broker=_BROKER, set_as_current=False)
bare.conf.update(
    task_default_queue=BARE_QUEUE,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"max_connections": 200},
)


@naive.task(name="bench.naive_send")
def naive_send(phone: str, name: str) -> None:
    """What a first implementation looks like: a one-off `httpx.post` per message."""
    response = httpx.post(
        f"{_SANDBOX}/api/waba/send",
        json={"waba_id": _SENDER, "phone": phone, "message": f"Halo {name}"},
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
        timeout=10.0,
    )
    response.raise_for_status()


_client: httpx.Client | None = None
_pid = 0
_lock = threading.Lock()


def _pooled() -> httpx.Client:
    """One keep-alive client per process (created after the fork, shared by its threads)."""
    global _client, _pid
    if _client is None or _pid != os.getpid():
        with _lock:
            if _client is None or _pid != os.getpid():
                limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
                _client = httpx.Client(
                    base_url=_SANDBOX,
                    headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
                    timeout=10.0,
                    limits=limits,
                )
                _pid = os.getpid()
    return _client


@bare.task(name="bench.bare_send", ignore_result=True)
def bare_send(phone: str, name: str) -> None:
    """The same send through a pooled client: no claim, no limiter, no outcome recorded."""
    payload = {"waba_id": _SENDER, "phone": phone, "message": f"Halo {name}"}
    _pooled().post("/api/waba/send", json=payload).raise_for_status()


def enqueue_naive(recipients: Sequence[tuple[str, str]]) -> None:
    """A `.delay()` per message, as the Celery tutorial does."""
    for phone, name in recipients:
        naive_send.delay(phone, name)


def enqueue_bare(recipients: Sequence[tuple[str, str]]) -> None:
    """Every message on one producer, in one kombu batch."""
    with bare.producer_or_acquire() as producer, producer.batch():
        for phone, name in recipients:
            bare_send.apply_async((phone, name), producer=producer)
