"""GET /healthz: Redis, the broker and at least one live worker."""

from tests.conftest import free_port
from tests.web.conftest import TestClient, build_app

COUNTERS = (
    "waiting", "overdue", "held", "released", "expired", "dropped", "errors", "skipped", "late",
)  # fmt: skip
NO_WEBHOOKS = dict.fromkeys(COUNTERS, 0)


def test_healthy_with_a_live_worker(client, redis):
    redis.set("bc:worker:host:123", 1, ex=10)
    response = client.get("/healthz", headers={})
    assert response.status_code == 200
    body = response.json()
    assert body.pop("memory")["max"] is None  # no maxmemory: no headroom to speak of
    assert body == {
        "status": "ok", "redis": "ok", "broker": "ok", "workers": 1, "webhooks": NO_WEBHOOKS,
    }  # fmt: skip


def test_without_workers_it_is_failing(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    del body["memory"]
    assert body == {
        "status": "failing", "redis": "ok", "broker": "ok", "workers": 0,
        "webhooks": NO_WEBHOOKS,
    }  # fmt: skip


def test_unreachable_redis_and_broker_are_named(redis):
    port = free_port()  # nothing listens there
    app = build_app(
        redis_url=f"redis://127.0.0.1:{port}/0", broker_url=f"redis://127.0.0.1:{port}/1"
    )
    with TestClient(app) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "failing" and body["workers"] == 0 and body["memory"] is None
    assert body["redis"].startswith("error: ConnectionError")
    assert body["broker"].startswith("error: ConnectionError")
    assert body["webhooks"] is None


def test_a_non_redis_broker_is_checked_through_kombu(redis):
    app = build_app(broker_url="memory://")
    redis.set("bc:worker:host:1", 1, ex=10)
    with TestClient(app) as client:
        body = client.get("/healthz").json()
    del body["memory"]
    assert body == {
        "status": "ok", "redis": "ok", "broker": "ok", "workers": 1, "webhooks": NO_WEBHOOKS,
    }  # fmt: skip


def test_redis_memory_headroom_is_reported_and_fails_below_the_minimum(client, redis, maxmemory):
    redis.set("bc:worker:host:123", 1, ex=10)
    limit = maxmemory(free=50 * 1024 * 1024)
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["memory"]["max"] == limit
    assert 0.1 < body["memory"]["headroom"] < 1 and body["memory"]["min_headroom"] == 0.1
    maxmemory(free=1024)  # about full: 1 KB left
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["memory"]["headroom"] < 0.1
    assert body["redis"].startswith("error: memory: ") and "MIN_HEADROOM" in body["redis"]
