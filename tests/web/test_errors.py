"""Errors are JSON with a message saying what to fix, never a traceback."""

import pytest

from broadcaster.errors import (
    BrokerUnavailable,
    CampaignError,
    CampaignInvalid,
    CampaignStateError,
    ConfigurationError,
    ContactImportError,
    ReplaiRejected,
)
from broadcaster.web.deps import get_dispatch
from tests import factories
from tests.conftest import free_port
from tests.web.conftest import AUTH, TestClient, build_app, csv_bytes


def test_unexpected_errors_answer_500_without_a_traceback(redis, caplog):
    app = build_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, headers=AUTH, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert "secret internals" not in response.text
    assert any("unhandled error on GET /boom" in r.message for r in caplog.records)


def test_unreachable_redis_is_a_503_naming_the_setting(redis):
    with TestClient(
        build_app(redis_url=f"redis://127.0.0.1:{free_port()}/0"), headers=AUTH
    ) as client:
        response = client.get("/campaigns")
    assert response.status_code == 503
    assert "BROADCASTER_REDIS_URL" in response.json()["detail"]


def test_unknown_route_and_method(client):
    assert client.get("/nope").json() == {"detail": "Not Found"}
    response = client.delete("/campaigns")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def test_validation_errors_keep_the_field_list(client):
    response = client.get("/campaigns", params={"limit": "many"})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"].startswith("invalid request: query.limit: ")
    assert body["errors"][0]["loc"] == ["query", "limit"]
    assert "input" not in body["errors"][0]


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (
            ContactImportError("unclosed quote", line=7),
            422,
            {"detail": "cannot import the contacts: unclosed quote", "line": 7},
        ),
        (CampaignInvalid("no sender"), 422, {"detail": "no sender"}),
        (CampaignStateError("cannot pause"), 409, {"detail": "cannot pause"}),
        (CampaignError("odd"), 400, {"detail": "odd"}),
        (
            ConfigurationError("set BROADCASTER_X"),
            503,
            {"detail": "server not configured: set BROADCASTER_X"},
        ),
        (
            ReplaiRejected("bad number", status_code=400, code=131026),
            502,
            {"detail": "Replai answered with an error: 131026: bad number"},
        ),
    ],
)
def test_each_error_family_has_its_status(redis, exc, status, body):
    app = build_app()

    @app.get("/raise")
    def raise_it() -> None:
        raise exc

    with TestClient(app) as client:
        response = client.get("/raise")
    assert response.status_code == status
    assert response.json() == body


def test_a_broker_down_at_creation_stores_nothing(redis, store):
    class Down:
        def publish(self, campaign_id, indexes):
            raise BrokerUnavailable("cannot reach the task broker: check BROADCASTER_BROKER_URL")

    app = build_app()
    app.dependency_overrides[get_dispatch] = Down
    data = csv_bytes([[factories.phone(0), "A"]])
    with TestClient(app, headers=AUTH) as client:
        response = client.post(
            "/campaigns", data={"sender": "w", "text": "x"}, files={"file": ("c.csv", data)}
        )
    assert response.status_code == 503
    assert "BROADCASTER_BROKER_URL" in response.json()["detail"]
    assert store.list_campaigns() == []
    assert list(store.redis.scan_iter("bc:c:*")) == []
