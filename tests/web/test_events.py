"""The event subscriptions API: a campaign's events_url, subscriptions made and deleted
through the API, backlog, last error, dead letters and replay."""

from broadcaster.events import EventRules, Subscription, check_secret
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


def subscribe(client, url: str = URL, **fields):
    return client.post("/events/subscriptions", json={"url": url, **fields})


def test_a_subscription_made_through_the_api_gets_every_campaign_launched_after_it(
    client, store, redis
):
    made = subscribe(client)
    assert made.status_code == 201, made.text
    body = made.json()
    secret, sub = body["secret"], body["id"]
    assert check_secret(secret) == secret  # made for it: whsec_ and 32 random bytes
    assert (body["url"], body["source"], body["disabled"]) == (URL, "api", False)
    assert sub == Subscription(URL, secret).id
    [listed] = client.get("/events/subscriptions").json()
    assert (listed["id"], listed["source"]) == (sub, "api")
    assert "secret" not in listed and secret not in client.get("/events/subscriptions").text
    assert secret not in client.get(f"/events/subscriptions/{sub}").text

    assert create(client).status_code == 201  # no events_url: the API's subscription only
    assert client.get(f"/events/subscriptions/{sub}").json()["backlog"] == 1  # started
    [(_, fields)] = store.waiting_events(sub, 10)
    assert fields["type"] == "campaign.started"


def test_an_api_subscription_is_one_per_url_with_a_valid_secret(client, store):
    assert subscribe(client, secret=SECRET).json()["secret"] == SECRET
    again = subscribe(client, secret=None)
    assert again.status_code == 409
    assert Subscription(URL, SECRET).id in again.json()["detail"]
    for bad in ("abc", "whsec_abc", "whsec_" + "QUJD" * 3):  # no prefix, not base64, 9 bytes
        response = subscribe(client, "http://127.0.0.1:9/other", secret=bad)
        assert response.status_code == 422, bad
        assert bad not in response.text  # the secret is never echoed
    assert subscribe(client, "ftp://127.0.0.1/x").status_code == 422
    assert len(store.global_hook_ids()) == 1


def test_deleting_an_api_subscription_takes_it_off_running_campaigns_too(client, store, redis):
    sub = subscribe(client).json()["id"]
    cid = create(client, events_url="http://127.0.0.1:9/own", events_secret=SECRET).json()["id"]
    own = Subscription("http://127.0.0.1:9/own", SECRET).id
    sources = {s["id"]: s["source"] for s in client.get("/events/subscriptions").json()}
    assert sources == {sub: "api", own: "campaign"}
    assert client.delete(f"/events/subscriptions/{own}").status_code == 404  # not the API's
    store.event_failed(sub, store.waiting_events(sub, 1)[0][0], {"type": "x", "c": cid},
                       error="HTTP 500", next_at=None, rules=EventRules())  # fmt: skip
    assert client.delete(f"/events/subscriptions/{sub}").json() == {"id": sub, "removed": True}
    assert client.get(f"/events/subscriptions/{sub}").status_code == 404
    assert client.delete(f"/events/subscriptions/{sub}").status_code == 404
    # the campaign keeps its own subscription only, and adds no event for the one taken away
    hooks = redis.hget(store.keys.campaign(cid), "hooks").decode().split()
    assert hooks[2:] == [store.keys.hook_events(own)]
    store.pause(cid)
    assert not redis.exists(store.keys.hook_events(sub), store.keys.hook_dead(sub),
                            store.keys.hook(sub))  # fmt: skip
    assert [s["id"] for s in client.get("/events/subscriptions").json()] == [own]
    assert create(client).status_code == 201  # later campaigns do not get it either
    assert store.hook_ids() == [own] and store.global_hooks() == []


def test_the_settings_subscriptions_are_listed_as_such(redis):
    hooks = [{"url": URL, "secret": SECRET}]
    with TestClient(build_app(event_webhooks=hooks), headers=AUTH) as configured:
        assert create(configured).status_code == 201
        [listed] = configured.get("/events/subscriptions").json()
        assert listed["source"] == "settings"
        assert configured.delete(f"/events/subscriptions/{listed['id']}").status_code == 404
        # the same URL through the API would share the settings' queue (with their secret)
        again = subscribe(configured, secret=SECRET)
        assert again.status_code == 409 and "settings" in again.json()["detail"]
        assert subscribe(configured, "http://127.0.0.1:9/other").status_code == 201
