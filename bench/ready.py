"""Imported into every benchmark worker (`celery worker -I bench.ready`): says "ready".

When the worker is ready to consume, it sets `benchready:<pid>` in the Redis at
`BENCH_READY_URL`, which `harness.workers` waits for. It works with any Celery app.
"""

import os
from typing import Any

import redis
from celery.signals import worker_ready


@worker_ready.connect
def _ready(**_: Any) -> None:
    url = os.environ.get("BENCH_READY_URL")
    if url:
        redis.Redis.from_url(url).set(f"benchready:{os.getpid()}", 1, ex=3600)
