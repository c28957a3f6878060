"""Outbound events end to end: enqueue_broadcast(events_url=...) -> real Celery workers ->
a real HTTP receiver on loopback, signatures checked with the Standard Webhooks library; a
subscription made through the API reaches the same way."""

import collections
import time

import pytest

from broadcaster import enqueue
from tests import factories
from tests.conftest import WORKER_STALE_AFTER
from tests.event_receiver import SECRET, Receiver

pytestmark = pytest.mark.slow

#: Fast retries and a short POST timeout, so a test sees several attempts in seconds.
EVENTS_ENV = {"BROADCASTER_EVENTS_BACKOFF_BASE": "0.05", "BROADCASTER_EVENTS_TIMEOUT": "1"}


def launch(redis, broker, n: int, url: str) -> str:
    rows = [{"phone": factories.phone(i), "name": f"N{i}"} for i in range(n)]
    result = enqueue.enqueue_broadcast(
        rows, sender="waba-1", text="Halo {name}", rate_per_minute=60_000.0,
        store=factories.store(redis, stale_after=WORKER_STALE_AFTER),
        dispatch=broker.dispatch(), events_url=url, events_secret=SECRET,
    )  # fmt: skip
    return result.campaign.id


def wait_events(receiver: Receiver, count: int, timeout: float = 40.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = receiver.unique()
        if len(got) >= count:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{len(receiver.unique())} of {count} events arrived")


def test_a_receiver_failing_five_times_gets_each_event_once_per_id(redis, broker, workers):
    workers.start("w1", **EVENTS_ENV)
    with Receiver(fail=5, status=503) as receiver:
        cid = launch(redis, broker, 20, receiver.url)
        got = wait_events(receiver, 22)
        time.sleep(1.0)  # nothing more comes
        assert len(receiver.unique()) == 22
    assert receiver.attempts == 5 + len(receiver.received)
    events = [r.verified() for r in got.values()]  # the spec's reference verification
    kinds = collections.Counter(e["type"] for e in events)
    assert kinds == {"campaign.started": 1, "recipient.sent": 20, "campaign.completed": 1}
    assert {e["data"]["recipient"] for e in events if "recipient" in e["data"]} == set(range(20))
    assert all(e["data"]["campaign_id"] == cid for e in events)
    ordered = [r.event["type"] for r in receiver.received]
    assert ordered[0] == "campaign.started" and ordered[-1] == "campaign.completed"


def test_workers_killed_during_delivery_lose_no_event(redis, broker, workers):
    workers.start("w1", **EVENTS_ENV)
    with Receiver(delay=0.05) as receiver:
        launch(redis, broker, 60, receiver.url)
        wait_events(receiver, 5)
        workers.kill("w1")  # SIGKILL, mid-delivery
        assert len(receiver.unique()) < 62
        workers.start("w2", **EVENTS_ENV)
        got = wait_events(receiver, 62)
    events = [r.verified() for r in got.values()]
    kinds = collections.Counter(e["type"] for e in events)
    assert kinds["campaign.started"] == kinds["campaign.completed"] == 1
    # a send cut by the kill ends `unknown`: still one event for each recipient
    assert {e["data"]["recipient"] for e in events if "recipient" in e["data"]} == set(range(60))


def test_a_subscription_made_through_the_api_gets_signed_events_from_the_workers(
    redis, broker, workers
):
    from tests.web.conftest import AUTH, TestClient, build_app

    workers.start("w1", **EVENTS_ENV)
    with Receiver() as receiver, TestClient(build_app(), headers=AUTH) as api:
        made = api.post("/events/subscriptions", json={"url": receiver.url}).json()
        rows = [{"phone": factories.phone(i)} for i in range(3)]
        cid = enqueue.enqueue_broadcast(
            rows, sender="waba-1", text="Halo", rate_per_minute=60_000.0,
            store=factories.store(redis, stale_after=WORKER_STALE_AFTER),
            dispatch=broker.dispatch(),
        ).campaign.id  # fmt: skip
        got = wait_events(receiver, 5)
        deadline = time.monotonic() + 10  # acknowledged after the receiver's answer
        while (state := api.get(f"/events/subscriptions/{made['id']}").json())["backlog"]:
            assert time.monotonic() < deadline, state
            time.sleep(0.05)
        assert (state["delivered"], state["source"]) == (5, "api")
    # signed with the secret the API showed once, checked by the spec's reference library
    events = [r.verified(made["secret"]) for r in got.values()]
    kinds = collections.Counter(e["type"] for e in events)
    assert kinds == {"campaign.started": 1, "recipient.sent": 3, "campaign.completed": 1}
    assert all(e["data"]["campaign_id"] == cid for e in events)
