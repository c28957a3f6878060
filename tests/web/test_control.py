"""Pause, resume, cancel, retry failed, resend unknown, and test sends."""

import pytest

from broadcaster.campaigns import RecipientStatus
from broadcaster.errors import BrokerUnavailable
from broadcaster.web.deps import get_dispatch
from tests import factories
from tests.web.conftest import AUTH, TestClient, build_app

S = RecipientStatus


@pytest.fixture
def running(store):
    """A running campaign of 4: recipient 0 failed, 1 unknown, 2 and 3 queued."""
    c = store.create(factories.campaign(), factories.contacts(4), window=4)
    store.start(c.id)
    for index, status in ((0, S.FAILED), (1, S.UNKNOWN)):
        factories.settle(store, c.id, index, status, error="boom")
    return c.id


def test_pause_then_resume(client, store, running, dispatched):
    response = client.post(f"/campaigns/{running}/pause")
    assert response.status_code == 200
    assert response.json() == {
        "id": running,
        "action": "pause",
        "state": "paused",
        "recipients": None,
        "note": None,
    }
    assert store.get(running).reason == "paused by an operator"
    assert store.counts(running)["queued"] == 2  # they go back to pending as workers meet them
    response = client.post(f"/campaigns/{running}/resume")
    assert response.status_code == 200
    assert response.json()["state"] == "running"
    assert dispatched.calls == []  # nothing to release: the two are still in the window


def test_resume_releases_what_the_pause_put_back(client, store, running, dispatched):
    client.post(f"/campaigns/{running}/pause")
    for index in (2, 3):  # a worker meets them while paused: they go back to pending
        assert factories.take(store, running, index).code == 2
    response = client.post(f"/campaigns/{running}/resume")
    assert response.status_code == 200
    assert dispatched.calls == [(running, [2, 3])]


def test_resume_of_a_running_campaign_is_409(client, running, dispatched):
    response = client.post(f"/campaigns/{running}/resume")
    assert response.status_code == 409
    assert response.json()["detail"] == "cannot resume a running campaign"
    assert dispatched.calls == []


def test_cancel_counts_recipients_and_cannot_repeat(client, store, running):
    response = client.post(f"/campaigns/{running}/cancel")
    assert response.json() == {
        "id": running,
        "action": "cancel",
        "state": "cancelled",
        "recipients": 2,
        "note": None,
    }
    assert store.counts(running)["cancelled"] == 2
    response = client.post(f"/campaigns/{running}/cancel")
    assert response.status_code == 409
    assert response.json() == {"detail": "cannot cancel a cancelled campaign"}
    assert client.post(f"/campaigns/{running}/pause").status_code == 409


def test_retry_failed_requeues_the_failed(client, running, dispatched):
    response = client.post(f"/campaigns/{running}/retry-failed")
    assert response.status_code == 200
    assert response.json()["recipients"] == 1
    assert dispatched.calls == [(running, [0])]


def test_resend_unknown_needs_an_explicit_confirm(client, running, dispatched):
    for body in (None, {}, {"confirm": False}):
        response = client.post(f"/campaigns/{running}/resend-unknown", json=body)
        assert response.status_code == 422
        assert '{"confirm": true}' in response.json()["detail"]
    assert dispatched.calls == []
    response = client.post(f"/campaigns/{running}/resend-unknown", json={"confirm": True})
    assert response.status_code == 200
    assert response.json()["recipients"] == 1
    assert dispatched.calls == [(running, [1])]


def test_requeue_with_nothing_to_requeue_dispatches_nothing(client, store, dispatched):
    c = store.create(factories.campaign(), factories.contacts(1), window=1)
    store.start(c.id)
    response = client.post(f"/campaigns/{c.id}/retry-failed")
    assert response.json()["recipients"] == 0
    assert dispatched.calls == []
    store.cancel(c.id)
    refused = client.post(f"/campaigns/{c.id}/retry-failed")
    assert refused.status_code == 409
    assert refused.json() == {"detail": "cannot retry failed recipients of a cancelled campaign"}


@pytest.mark.parametrize("action", ["pause", "resume", "cancel", "retry-failed"])
def test_actions_on_an_unknown_campaign_are_404(client, action):
    assert client.post(f"/campaigns/cnope/{action}").status_code == 404


def test_broker_down_requeues_and_says_the_workers_queue_them_later(redis, store, running):
    """The store changes at once; the released sends stay in the campaign's window, and the
    workers' ticker publishes them when the broker is back (their deadline passes)."""

    class Down:
        def publish(self, campaign_id, indexes):
            raise BrokerUnavailable("cannot reach the task broker: check BROADCASTER_BROKER_URL")

    app = build_app()
    app.dependency_overrides[get_dispatch] = Down
    with TestClient(app, headers=AUTH) as client:
        response = client.post(f"/campaigns/{running}/retry-failed")
    assert response.status_code == 200
    assert "BROADCASTER_BROKER_URL" in response.json()["note"]
    assert store.counts(running)["failed"] == 0
    assert 0 in [int(i) for i in redis.zrange(store.keys.active(running), 0, -1)]


def test_send_goes_to_the_given_numbers_and_is_not_counted(redis, store, sandbox):
    c = store.create(factories.campaign(text="Halo {name}!"), factories.contacts(2), window=2)
    store.suppress([factories.phone(7)])
    before = store.counts(c.id)
    with TestClient(build_app(replai_base_url=sandbox.url), headers=AUTH) as client:
        response = client.post(
            f"/campaigns/{c.id}/test-send",
            json={
                "phones": ["0812 3456 7890", "+62 813-1111-0001", factories.phone(7)],
                "variables": {"name": "Tester"},
            },
        )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert results[0]["ok"] and results[0]["message_id"]
    assert results[1] == {
        "phone": "6281311110001", "ok": False, "message_id": None,
        "error": results[1]["error"],
    }  # fmt: skip
    assert results[1]["error"].startswith("131026")
    assert results[2]["error"] == "on the suppression list"
    sends = sandbox.sends()["sends"]
    assert [s["phone"] for s in sends] == ["6281234567890"]
    assert sends[0]["ref"] == f"{c.id}:test"
    assert sends[0]["message_id"] == results[0]["message_id"]
    assert store.counts(c.id) == before and store.get(c.id).state == "draft"


def test_send_of_a_pool_goes_through_its_first_senders_account(redis, store, sandbox):
    import dataclasses

    pool = dataclasses.replace(
        factories.campaign(text="Halo"), sender="s-b", senders=("s-b", "s-x")
    )
    c = store.create(pool, factories.contacts(1), window=1)
    assert c.account is None  # a pool's senders keep their own accounts
    settings = {
        "accounts": {"b": {"token": "not-a-sandbox-token"}},
        "senders": {"s-b": {"account": "b"}},
    }
    with TestClient(build_app(replai_base_url=sandbox.url, **settings), headers=AUTH) as client:
        response = client.post(f"/campaigns/{c.id}/test-send", json={"phones": ["0812 3456 7890"]})
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    assert not result["ok"]  # through `b`, whose token the sandbox refuses; not `default`
    assert sandbox.sends()["sends"] == []


def test_send_refuses_bad_numbers_and_missing_variables(client, store):
    c = store.create(factories.campaign(text="Halo {name}!"), factories.contacts(1), window=1)
    response = client.post(f"/campaigns/{c.id}/test-send", json={"phones": ["12", "abc"]})
    assert response.status_code == 422
    body = response.json()
    assert [i["phone"] for i in body["invalid"]] == ["12", "abc"]
    assert "invalid phone numbers" in body["detail"]
    response = client.post(f"/campaigns/{c.id}/test-send", json={"phones": ["081234567890"]})
    assert response.status_code == 422
    assert "variables ['name']" in response.json()["detail"]


def test_send_without_replai_credentials_is_503(redis, store):
    c = store.create(factories.campaign(), factories.contacts(1), window=1)
    with TestClient(build_app(replai_token=None), headers=AUTH) as client:
        response = client.post(f"/campaigns/{c.id}/test-send", json={"phones": ["081234567890"]})
    assert response.status_code == 503
    assert "BROADCASTER_REPLAI_TOKEN" in response.json()["detail"]


def test_delete_is_409_while_running_then_removes_the_campaign(client, store, running):
    response = client.delete(f"/campaigns/{running}")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "cannot delete a running campaign: pause or cancel it first"
    }
    client.post(f"/campaigns/{running}/cancel")
    response = client.delete(f"/campaigns/{running}")
    assert response.status_code == 200
    assert response.json()["id"] == running and response.json()["recipients"] == 4
    assert not store.redis.keys(f"bc:c:{running}*")
    assert client.get(f"/campaigns/{running}").status_code == 404
    assert client.delete(f"/campaigns/{running}").status_code == 404


def test_archive_is_409_until_finished_then_lists_with_its_counts(redis, store, running, tmp_path):
    with TestClient(build_app(archive_dir=tmp_path), headers=AUTH) as client:
        response = client.post(f"/campaigns/{running}/archive")
        assert response.status_code == 409
        assert "only a completed or cancelled" in response.json()["detail"]
        client.post(f"/campaigns/{running}/cancel")
        response = client.post(f"/campaigns/{running}/archive")
        assert response.status_code == 200 and response.json()["recipients"] == 4
        [item] = client.get("/campaigns").json()["items"]
        assert item["archived_at"] and item["progress"]["counts"]["cancelled"] == 2
        report = client.get(f"/campaigns/{running}/report.csv")
        assert report.status_code == 200 and report.text.count("\r\n") == 5
        assert client.get(f"/campaigns/{running}/failures").json()["total"] == 1
        rows = client.get(f"/campaigns/{running}/recipients", params={"status": "unknown"})
        assert [r["index"] for r in rows.json()["items"]] == [1]
    assert (tmp_path / f"{running}.csv.gz").exists()
