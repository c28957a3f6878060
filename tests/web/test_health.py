"""GET /healthz: Redis, the broker and at least one live worker."""

from tests.conftest import free_port
from tests.web.conftest import TestClient, build_app

COUNTERS = ("waiting", "overdue", "held", "released", "expired", "dropped", "errors", "skipped")
NO_WEBHOOKS = dict.fromkeys(COUNTERS, 0)


def test_healthy_with_a_live_worker(client, redis):
    redis.set("bc:worker:host:123", 1, ex=10)
    response = client.get("/healthz", headers={})
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "redis": "ok", "broker": "ok", "workers": 1, "webhooks": NO_WEBHOOKS,
    }  # fmt: skip


def test_without_workers_it_is_failing(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
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
    assert body["status"] == "failing" and body["workers"] == 0
    assert body["redis"].startswith("error: ConnectionError")
    assert body["broker"].startswith("error: ConnectionError")
    assert body["webhooks"] is None


def test_a_non_redis_broker_is_checked_through_kombu(redis):
    app = build_app(broker_url="memory://")
    redis.set("bc:worker:host:1", 1, ex=10)
    with TestClient(app) as client:
        body = client.get("/healthz").json()
    assert body == {
        "status": "ok", "redis": "ok", "broker": "ok", "workers": 1, "webhooks": NO_WEBHOOKS,
    }  # fmt: skip
