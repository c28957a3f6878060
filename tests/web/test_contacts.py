"""GET /contacts/{phone} exports what is held about a number; DELETE erases it."""

from tests import factories
from tests.web.conftest import AUTH, TestClient, build_app

SECRET = "s3cret-for-tests"


def test_export_then_erase_a_number(redis, dispatched):
    store = factories.store(redis, erasure_secret=SECRET.encode())
    c = store.create(factories.campaign(), factories.contacts(2), window=2)
    with TestClient(build_app(dispatched, erasure_secret=SECRET), headers=AUTH) as client:
        exported = client.get("/contacts/" + factories.phone(1))
        assert exported.status_code == 200
        assert [r["campaign_id"] for r in exported.json()["recipients"]] == [c.id]
        erased = client.delete("/contacts/" + factories.phone(1))
        assert erased.status_code == 200
        assert erased.json()["recipients"] == {c.id: 1}
        after = client.get("/contacts/" + factories.phone(1)).json()
        assert after["erased"] is True and after["recipients"] == []
    assert store.iter_rows(c.id).__next__().phone == factories.phone(0)


def test_erasure_without_a_secret_is_503_naming_the_setting(client):
    response = client.delete("/contacts/" + factories.phone(1))
    assert response.status_code == 503
    assert "BROADCASTER_ERASURE_SECRET" in response.json()["detail"]
