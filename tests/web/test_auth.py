"""Every route but health and the webhook needs an API key; none configured fails closed."""

import pytest

from broadcaster.web.app import create_app
from tests.web.conftest import API_KEY, TestClient, build_app, make_settings

OPEN = {"/healthz", "/webhooks/replai/{secret}"}


def protected_routes() -> list[tuple[str, str]]:
    # This FastAPI keeps included routers unflattened in app.routes; the OpenAPI paths list
    # every route the app serves (none is hidden from the schema).
    paths = create_app(make_settings()).openapi()["paths"]
    routes = [
        (method.upper(), path)
        for path, operations in paths.items()
        if path not in OPEN
        for method in operations
    ]
    assert len(routes) >= 15
    return routes


ROUTES = protected_routes()


def concrete(path: str) -> str:
    return path.replace("{campaign_id}", "c123").replace("{phone}", "6281234567890")


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "missing API key: send it in the X-API-Key header"),
        ({"X-API-Key": "wrong"}, "wrong API key"),
        ({"Authorization": "Bearer wrong"}, "wrong API key"),
        (
            {"Authorization": f"Basic {API_KEY}"},
            "missing API key: send it in the X-API-Key header",
        ),
    ],
)
def test_protected_routes_refuse_a_missing_or_wrong_key(app, method, path, headers, detail):
    with TestClient(app) as client:
        response = client.request(method, concrete(path), headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_without_configured_keys_protected_routes_fail_closed(redis, method, path):
    with TestClient(build_app(api_keys=[])) as client:
        response = client.request(method, concrete(path), headers={"X-API-Key": ""})
    assert response.status_code == 503
    assert response.json() == {"detail": "no API keys configured: set BROADCASTER_API_KEYS"}


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": API_KEY}, {"X-API-Key": "second-key"}, {"Authorization": f"Bearer {API_KEY}"}],
)
def test_any_configured_key_is_accepted_in_either_header(app, headers):
    with TestClient(app) as client:
        assert client.get("/campaigns", headers=headers).status_code == 200


def test_health_docs_and_openapi_need_no_key(app):
    with TestClient(app) as client:
        assert client.get("/healthz").status_code in (200, 503)
        assert client.get("/docs").status_code == 200
        schema = client.get("/openapi.json").json()
    assert "APIKeyHeader" in schema["components"]["securitySchemes"]
    create = schema["paths"]["/campaigns"]["post"]["requestBody"]["content"]
    assert set(create) == {"multipart/form-data", "application/json"}
    assert (
        "404 to everything" in schema["paths"]["/webhooks/replai/{secret}"]["post"]["description"]
    )
