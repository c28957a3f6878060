"""The event subscriptions API: a campaign's events_url, backlog, last error, dead letters
and replay."""

from broadcaster.events import EventRules, Subscription
from tests.event_receiver import SECRET
from tests.web.conftest import AUTH, TestClient, build_app

URL = "http://127.0.0.1:9/events"


def create(client, **fields):
    body = {"sender": "waba-1", "text": "Halo", "recipients": [{"phone": "+6281234567890"}]}
    return client.post("/campaigns", json=body | fields)


def test_a_campaigns_events_url_is_a_subscription_with_its_backlog(client, store):
    assert create(client, events_url=URL, events_secret=SECRET).status_code == 201
    sub = Subscription(URL, SECRET)
    [listed] = client.get("/events/subscriptions").json()
    assert (listed["id"], listed["url"], listed["backlog"]) == (sub.id, URL, 1)
    assert "secret" not in listed and SECRET not in str(listed)
    store.event_failed(sub.id, store.waiting_events(sub.id, 1)[0][0], {"type": "x", "c": "c"},
                       error="HTTP 502", next_at=None, rules=EventRules())  # fmt: skip
    one = client.get(f"/events/subscriptions/{sub.id}").json()
    assert (one["backlog"], one["dead"], one["last_error"]) == (0, 1, "HTTP 502")
    [dead] = client.get(f"/events/subscriptions/{sub.id}/dead").json()
    assert (dead["type"], dead["error"]) == ("x", "HTTP 502")
    assert client.post(f"/events/subscriptions/{sub.id}/replay").json() == {"replayed": 1}
    assert client.get(f"/events/subscriptions/{sub.id}").json()["backlog"] == 1
    assert client.get("/events/subscriptions/nope").status_code == 404


def test_an_events_url_needs_a_secret_and_an_http_url(client, redis):
    response = create(client, events_url=URL)
    assert response.status_code == 422
    assert "secret" in response.json()["detail"]
    assert create(client, events_url="ftp://x", events_secret=SECRET).status_code == 422
    with TestClient(build_app(events_secret=SECRET), headers=AUTH) as configured:
        assert create(configured, events_url=URL).status_code == 201
