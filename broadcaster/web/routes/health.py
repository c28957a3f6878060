"""GET /healthz: Redis, the task broker and live workers (no API key: for load balancers)."""

import logging
from typing import Any

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from broadcaster.settings import Settings
from broadcaster.store import CampaignStore, WebhookRules

from ..deps import RedisDep, SettingsDep, StoreDep
from ..schemas import HealthOut, MemoryOut, WebhookHealth

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

#: Seconds the broker check may take.
DEFAULT_BROKER_TIMEOUT = 2.0


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "A part is failing."}},
)
def healthz(redis_client: RedisDep, store: StoreDep, settings: SettingsDep) -> JSONResponse:
    """200 when Redis and the broker answer, at least one worker is alive and Redis keeps
    `BROADCASTER_REDIS_MIN_HEADROOM` of its maxmemory free; else 503.

    `webhooks` counts callbacks held for their send, expired unapplied, dropped, and Meta's
    value-level errors (for monitoring; they do not change the status).
    """
    redis_state = _check(redis_client.ping)
    broker_state = _check(lambda: _ping_broker(settings.celery_broker_url))
    reachable = redis_state == "ok"
    workers = _count_workers(store) if reachable else 0
    memory = _memory(store, settings.redis_min_headroom) if reachable else None
    if memory is not None and memory.headroom is not None:
        if memory.headroom < memory.min_headroom:
            redis_state = (
                f"error: memory: {memory.headroom:.1%} of maxmemory free, below "
                f"{memory.min_headroom:.0%} (BROADCASTER_REDIS_MIN_HEADROOM): delete finished "
                "campaigns or raise maxmemory"
            )
    healthy = redis_state == "ok" and broker_state == "ok" and workers > 0
    body = HealthOut(
        status="ok" if healthy else "failing",
        redis=redis_state,
        broker=broker_state,
        workers=workers,
        memory=memory,
        webhooks=_webhooks(store, settings) if reachable else None,
    )
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


def _webhooks(store: CampaignStore, settings: Settings) -> WebhookHealth | None:
    try:
        stats = store.webhook_stats(WebhookRules.from_settings(settings))
    except redis.RedisError as exc:
        logger.warning("webhook counters unreadable: %s", exc)
        return None
    return WebhookHealth(**stats._asdict())


def _memory(store: Any, min_headroom: float) -> MemoryOut | None:
    try:
        memory = store.memory()
    except Exception as exc:  # a health check reports, it never raises
        logger.warning("health check: Redis memory not read: %s", exc)
        return None
    headroom = memory.headroom
    return MemoryOut(
        used=memory.used,
        max=memory.limit or None,
        headroom=round(headroom, 4) if headroom is not None else None,
        min_headroom=min_headroom,
    )


def _check(ping: Any) -> str:
    try:
        ping()
    except Exception as exc:  # a health check reports every failure, it never raises
        logger.warning("health check failed: %s", exc)
        return f"error: {type(exc).__name__}: {exc}"[:200]
    return "ok"


def _ping_broker(url: str) -> None:
    if url.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=DEFAULT_BROKER_TIMEOUT,
            socket_timeout=DEFAULT_BROKER_TIMEOUT,
        )
        try:
            client.ping()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=DEFAULT_BROKER_TIMEOUT) as connection:
        connection.ensure_connection(max_retries=1)


def _count_workers(store: Any) -> int:
    pattern = store.keys.workers()
    return sum(1 for _ in store.redis.scan_iter(match=pattern, count=1000))
