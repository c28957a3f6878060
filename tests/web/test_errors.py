"""Errors are JSON with a message saying what to fix, never a traceback."""

from tests.conftest import free_port
from tests.web.conftest import AUTH, TestClient, build_app


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
