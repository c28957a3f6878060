"""Schemathesis against the app's own OpenAPI schema: no route answers an internal error.

Every operation of `/openapi.json` gets requests generated from its schema (valid ones and,
with the negative mode, invalid ones) with a valid API key, against the real app and a real
Redis (campaign starts go to a recorder, not to Celery). None may answer 500; a 5xx is only
allowed where the README documents it: 502 when Replai cannot be reached (the app points at
a closed port here), and the health check's 503 naming what fails. The same request without
a key is refused with 401 (the webhook, with its secret in the path, and the health check
are open by design).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.web.conftest import AUTH, Recorder, build_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

APP = build_app(Recorder())
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
OPEN = {"/healthz", "/webhooks/replai/{secret}"}
#: operations that call Replai, answered 502 while it cannot be reached
CALLS_REPLAI = {
    ("POST", "/campaigns/{campaign_id}/test-send"),
    ("POST", "/messages/test"),
    ("GET", "/templates"),
    ("POST", "/campaigns"),
    ("POST", "/campaigns/preview"),
}


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    derandomize=True,  # the same requests every run: a failure here is never a fluke
    suppress_health_check=list(HealthCheck),
)
def test_no_operation_answers_an_internal_error(redis, case):
    response = case.call(headers=AUTH)
    where = (case.method, case.path, response.status_code, response.text[:300])
    assert response.status_code != 500, where
    if (case.method, case.path) == ("GET", "/healthz"):
        assert response.status_code in (200, 503), where  # 503 names what fails: no worker
        return
    if response.status_code >= 500:
        assert (case.method, case.path) in CALLS_REPLAI and response.status_code == 502, where
    if response.status_code >= 400:
        assert isinstance(response.json().get("detail"), str), where
    if case.path not in OPEN and response.status_code != 405:  # 405: a method it lacks
        keyless = {
            k: v
            for k, v in (case.headers or {}).items()
            if k.lower() not in ("x-api-key", "authorization")
        }
        case.headers = keyless
        refused = case.call()
        if _unparsable_body(refused):
            return  # the body is read before the key: see test_security's body-before-key tests
        assert refused.status_code == 401, (case.method, case.path, refused.status_code)


def _unparsable_body(response) -> bool:
    """FastAPI's answer to a body that is not JSON (422) or not text (400)."""
    body = response.json()
    if response.status_code == 400:
        return body.get("detail") == "There was an error parsing the body"
    errors = body.get("errors") or [{}]
    return response.status_code == 422 and all(e.get("type") == "json_invalid" for e in errors)


@pytest.mark.parametrize("offset", [2**63 - 1, 10**20])
def test_a_huge_page_offset_is_not_answered_as_redis_down(redis, offset):
    """Found by the fuzz above: `GET /campaigns?offset=` near 2**63 made Redis refuse the
    range (out of its integers) and the app answered 503 "the campaign store (Redis) cannot
    be reached", sending an operator to check a Redis that is fine."""
    from tests.web.conftest import TestClient

    with TestClient(APP, headers=AUTH) as client:
        response = client.get("/campaigns", params={"offset": offset})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert response.json()["items"] == []
    else:
        assert "query.offset" in response.json()["detail"]
